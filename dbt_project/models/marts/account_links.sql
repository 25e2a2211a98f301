-- Links between accounts on the latest night, one row per direction, with the cluster they
-- belong to.

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
    clusters.cluster_id
from links
inner join clusters on clusters.account_id = links.account_id
