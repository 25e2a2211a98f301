-- One row per contract_id and night: the latest version delivered that night. Versions of
-- earlier nights are kept so that any night can be replayed (see int_contracts__as_of).
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'contracts') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['contract_id', '_export_date'], 'updated_at desc, _line desc') }}

),

renamed as (

    select
        contract_id,
        client_account_id,
        freelancer_account_id,
        created_at,
        updated_at,
        category,
        contract_type,
        rate_usd,
        status,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
