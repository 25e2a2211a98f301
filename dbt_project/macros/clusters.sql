{#- int_account_clusters: the rounds of label propagation over int_account_links (see the
    model). DuckDB: CTEs, each round materialised. -#}
{% macro cluster_labels(n) -%}
    {{ return(adapter.dispatch('cluster_labels', 'itw_radar')(n)) }}
{%- endmacro %}

{% macro default__cluster_labels(n) -%}
with

edges as (

    select distinct night, account_id, linked_account_id
    from {{ ref('int_account_links') }}

),

labels_0 as materialized (

    select distinct night, account_id, account_id as label
    from edges

),

-- Semi-naive: labels only fall, so in a round only a neighbour of an account whose label fell in
-- the previous round can fall, and only to that neighbour's label. changed_i holds the accounts
-- whose label fell in round i (with the label): the same labels as every account taking the
-- smallest label among its neighbours each round, at the cost of the accounts still changing
-- (most components of a platform are pairs, settled in a round or two).
changed_0 as materialized (

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

changed_{{ i + 1 }} as materialized (

    select o.night, o.account_id, o.label
    from offered_{{ i + 1 }} as o
    inner join labels_{{ i }} as l
        on l.night = o.night and l.account_id = o.account_id
    where o.label < l.label

),

labels_{{ i + 1 }} as materialized (

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
{%- endmacro %}

{#- Spark: each round written as a table of its own (schema cluster_rounds) before the model's
    query. A cached view is not enough: it keeps the plan of the rounds before it, which Spark
    still analyses as one plan. -#}
{% macro spark__cluster_labels(n) -%}
    {%- if execute -%}
        {%- set rounds = [
            ('edges', 'select distinct night, account_id, linked_account_id from ' ~ ref('int_account_links')),
            ('labels_0', 'select distinct night, account_id, account_id as label from cluster_rounds.edges'),
            ('changed_0', 'select night, account_id, label from cluster_rounds.labels_0')] -%}
        {%- for i in range(n) -%}
            {%- do rounds.append(('changed_' ~ (i + 1), 'select o.night, o.account_id, o.label from (select e.night, e.account_id, min(c.label) as label from cluster_rounds.changed_' ~ i ~ ' as c inner join cluster_rounds.edges as e on e.night = c.night and e.linked_account_id = c.account_id group by e.night, e.account_id) as o inner join cluster_rounds.labels_' ~ i ~ ' as l on l.night = o.night and l.account_id = o.account_id where o.label < l.label')) -%}
            {%- do rounds.append(('labels_' ~ (i + 1), 'select l.night, l.account_id, coalesce(c.label, l.label) as label from cluster_rounds.labels_' ~ i ~ ' as l left join cluster_rounds.changed_' ~ (i + 1) ~ ' as c on c.night = l.night and c.account_id = l.account_id')) -%}
        {%- endfor -%}
        {%- do run_query('create schema if not exists cluster_rounds') -%}
        {%- for name, sql in rounds -%}
            {%- do run_query('drop table if exists cluster_rounds.' ~ name) -%}
            {%- do run_query('create table cluster_rounds.' ~ name ~ ' using parquet as ' ~ sql) -%}
        {%- endfor -%}
    {%- endif %}
    select night, account_id, 'cl-' || label as cluster_id
    from cluster_rounds.labels_{{ n }}
{%- endmacro %}
