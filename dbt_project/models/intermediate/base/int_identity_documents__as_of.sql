-- The latest version of each document_id as known on each night being computed.

with

nights as (

    select night from {{ ref('int_nights') }}

),

versions as (

    select * from {{ ref('stg_identity_documents') }}

),

as_of as (

    select
        nights.night,
        versions.*,
        min(versions.export_date) over (partition by nights.night, versions.document_id) as first_seen_night
    from nights
    inner join versions on versions.export_date <= nights.night
    qualify row_number() over (
        partition by nights.night, versions.document_id order by versions.export_date desc, versions.source_line desc
    ) = 1

)

select * from as_of
