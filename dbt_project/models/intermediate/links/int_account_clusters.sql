-- Connected components of the account links on each night, by label propagation: every
-- account starts with its own id as label and takes the smallest label among its neighbours,
-- cluster_iterations times (enough for clusters of that diameter; the data test
-- links_within_one_cluster warns when a cluster needs more). cluster_id = 'cl-' + smallest
-- account id of the component. The links are those whose shared identifiers weigh enough
-- (int_account_links: one strong identifier or two independent weaker ones), so a cluster is
-- cut wherever only weak links would join it.
{%- set n = var('cluster_iterations') %}

with

edges as (

    select distinct night, account_id, linked_account_id
    from {{ ref('int_account_links') }}

),

labels_0 as {{ cte_materialized() }} (

    select distinct night, account_id, account_id as label
    from edges

),

-- Semi-naive: labels only fall, so in a round only a neighbour of an account whose label fell in
-- the previous round can fall, and only to that neighbour's label. changed_i holds the accounts
-- whose label fell in round i (with the label): the same labels as every account taking the
-- smallest label among its neighbours each round, at the cost of the accounts still changing
-- (most components of a platform are pairs, settled in a round or two).
changed_0 as {{ cte_materialized() }} (

    select night, account_id, label from labels_0

),

{%- for i in range(n) %}

offered_{{ i + 1 }} as (

    select e.night, e.account_id, min(c.label) as label
    from changed_{{ i }} as c
    inner join edges as e
        on e.night = c.night and e.linked_account_id = c.account_id
    group by e.night, e.account_id

),

changed_{{ i + 1 }} as {{ cte_materialized() }} (

    select o.night, o.account_id, o.label
    from offered_{{ i + 1 }} as o
    inner join labels_{{ i }} as l
        on l.night = o.night and l.account_id = o.account_id
    where o.label < l.label

),

labels_{{ i + 1 }} as {{ cte_materialized() }} (

    select l.night, l.account_id, coalesce(c.label, l.label) as label
    from labels_{{ i }} as l
    left join changed_{{ i + 1 }} as c
        on c.night = l.night and c.account_id = l.account_id

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
