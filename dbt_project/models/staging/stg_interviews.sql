-- One row per interview_id: the first delivery of each event (late and re-delivered events
-- are kept once). Incremental: reads only the nights not yet processed.
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'interviews') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['interview_id'], '_export_date, _line') }}

),

renamed as (

    select
        interview_id,
        client_account_id,
        freelancer_account_id,
        contract_id,
        scheduled_at,
        requested_mode,
        held_mode,
        camera_on,
        outcome,
        scheduled_at::date as interview_day,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
{{ not_delivered_before('interview_id', 'scheduled_at') }}
