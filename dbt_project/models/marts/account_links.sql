-- Links between accounts on the latest night, one row per direction, with the cluster they
-- belong to and how much each shared identifier, and the pair's identifiers together, weigh
-- (int_account_links).

with

links as (

    select * from {{ ref('int_account_links') }}
    where night = {{ as_of() }}

),

clusters as (

    select * from {{ ref('int_account_clusters') }}
    where night = {{ as_of() }}

)

select
    links.account_id,
    links.linked_account_id,
    links.link_type,
    links.link_value,
    links.weight,
    links.pair_weight,
    clusters.cluster_id
from links
inner join clusters on clusters.account_id = links.account_id
