-- One row per account_id and night: the latest version delivered that night. Versions of
-- earlier nights are kept so that any night can be replayed (see int_accounts__as_of).
-- on_schema_change append_new_columns: a warehouse built before contract 1.1 gains the 1.1
-- columns (null on the nights stored before) instead of stopping the night.
{{ config(**night_incremental('export_date', on_schema_change='append_new_columns')) }}

with

source as (

    select * from {{ source('raw', 'accounts') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['account_id', '_export_date'], 'updated_at desc, _line desc') }}

),

renamed as (

    select
        account_id,
        account_type,
        created_at,
        updated_at,
        display_name,
        email_hash,
        email_domain,
        phone_hash,
        phone_line_type,
        country,
        timezone,
        hourly_rate_usd,
        lifetime_hours,
        status,
        -- contract 1.1 (null when the platform does not send them)
        profile_text,
        referred_by_account_id,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
