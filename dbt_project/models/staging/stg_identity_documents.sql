-- One row per document_id and night: the latest version delivered that night. Versions of
-- earlier nights are kept so that any night can be replayed (see int_identity_documents__as_of).
-- on_schema_change append_new_columns: a warehouse built before contract 1.1 gains the 1.1
-- column (null on the nights stored before) instead of stopping the night.
{{ config(**night_incremental('export_date', on_schema_change='append_new_columns')) }}

with

source as (

    select * from {{ source('raw', 'identity_documents') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['document_id', '_export_date'], '_line desc') }}

),

renamed as (

    select
        document_id,
        account_id,
        submitted_at,
        document_type,
        issuing_country,
        document_number_hash,
        holder_name,
        date_of_birth,
        image_phash,
        face_phash,
        verification_status,
        verification_method,
        -- contract 1.1 (null when the platform does not send it)
        verified_at,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
