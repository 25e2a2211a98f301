-- One row per login_id: the first delivery of each event (late and re-delivered events
-- are kept once). Incremental: reads only the nights not yet processed.
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'logins') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['login_id'], '_export_date, _line') }}

),

renamed as (

    select
        login_id,
        account_id,
        ts,
        ip,
        ip_country,
        ip_asn,
        ip_kind,
        device_id,
        user_agent,
        success,
        ts::date as login_day,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
{{ not_delivered_before('login_id', 'ts') }}
