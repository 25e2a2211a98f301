-- Connected components of the account links on each night, by label propagation: every
-- account starts with its own id as label and takes the smallest label among its neighbours,
-- cluster_iterations times (enough for clusters of that diameter; the data test
-- links_within_one_cluster warns when a cluster needs more). cluster_id = 'cl-' + smallest
-- account id of the component.
{%- set n = var('cluster_iterations') %}

with

edges as (

    select distinct night, account_id, linked_account_id
    from {{ ref('int_account_links') }}

),

labels_0 as materialized (

    select distinct night, account_id, account_id as label
    from edges

),

{%- for i in range(n) %}

labels_{{ i + 1 }} as materialized (

    select
        l.night,
        l.account_id,
        least(l.label, min(neighbour.label)) as label
    from labels_{{ i }} as l
    inner join edges as e
        on e.night = l.night and e.account_id = l.account_id
    inner join labels_{{ i }} as neighbour
        on neighbour.night = e.night and neighbour.account_id = e.linked_account_id
    group by l.night, l.account_id, l.label

),
{%- endfor %}

final as (

    select
        night,
        account_id,
        'cl-' || label as cluster_id
    from labels_{{ n }}

)

select * from final
