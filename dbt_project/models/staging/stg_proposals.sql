-- One row per proposal_id: the first delivery of each event (late and re-delivered events
-- are kept once). Incremental: reads only the nights not yet processed. Contract 1.1, optional:
-- a platform that never sends the table leaves raw.proposals empty and this model empty; the
-- indicators that need it say so (int_data_availability), never a silent zero.
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'proposals') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['proposal_id'], '_export_date, _line') }}

),

renamed as (

    select
        proposal_id,
        freelancer_account_id,
        client_account_id,
        job_id,
        job_category,
        submitted_at,
        bid_usd,
        cover_letter,
        submitted_at::date as submitted_day,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
{{ not_delivered_before('proposal_id', 'submitted_at') }}
