-- Pairs of accounts whose identity documents are the same or near-identical on each night
-- being computed (one row per direction and night): the version pairs of
-- int_document_version_pairs whose two versions are both still the current ones that night.

with

version_pairs as (

    select * from {{ ref('int_document_version_pairs') }}

),

docs as (

    select * from {{ ref('int_identity_documents__as_of') }}

),

current_pairs as (

    select
        a.night,
        a.account_id,
        b.account_id as linked_account_id,
        p.link_type,
        p.link_value,
        p.distance
    from version_pairs as p
    inner join docs as a
        on a.document_id = p.document_id
        and a.export_date = p.export_date
    inner join docs as b
        on b.night = a.night
        and b.document_id = p.linked_document_id
        and b.export_date = p.linked_export_date
    where a.account_id <> b.account_id

),

both_directions as (

    select * from current_pairs
    union all
    select night, linked_account_id, account_id, link_type, link_value, distance
    from current_pairs

)

select
    night,
    account_id,
    linked_account_id,
    link_type,
    link_value,
    min(distance)::integer as distance
from both_directions
group by night, account_id, linked_account_id, link_type, link_value
