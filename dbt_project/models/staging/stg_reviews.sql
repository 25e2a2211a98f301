-- One row per review_id: the first delivery of each event (late and re-delivered events
-- are kept once). Incremental: reads only the nights not yet processed.
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'reviews') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['review_id'], '_export_date, _line') }}

),

renamed as (

    select
        review_id,
        contract_id,
        reviewer_account_id,
        reviewee_account_id,
        rating,
        created_at,
        created_at::date as review_day,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
{{ not_delivered_before('review_id', 'created_at') }}
