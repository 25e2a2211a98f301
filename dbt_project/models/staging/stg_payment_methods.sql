-- One row per payment_method_id and night: the latest version delivered that night. Versions of
-- earlier nights are kept so that any night can be replayed (see int_payment_methods__as_of).
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'payment_methods') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['payment_method_id', '_export_date'], '_line desc') }}

),

renamed as (

    select
        payment_method_id,
        account_id,
        added_at,
        method_type,
        fingerprint,
        holder_name,
        country,
        is_active,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
