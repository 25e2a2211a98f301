-- One row per session_id: the first delivery of each event (late and re-delivered events
-- are kept once). Incremental: reads only the nights not yet processed.
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'work_sessions') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['session_id'], '_export_date, _line') }}

),

renamed as (

    select
        session_id,
        account_id,
        contract_id,
        started_at,
        ended_at,
        remote_desktop_detected,
        started_at::date as session_day,
        {{ diff_units('second', 'started_at', 'ended_at') }} / 3600e0 as tracked_hours,  -- e0: a double on every engine
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
{{ not_delivered_before('session_id', 'started_at') }}
