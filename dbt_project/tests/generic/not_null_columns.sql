{#- Fails with one row per column of `columns` that holds a null: the column's name and its
    null rows (dbt counts those rows: the failure says how many nulls in all).
    dbt's not_null, one test per column, read the model once per column, and each test costs
    dbt ~40 ms of its own whatever the data (214 of them were 7.5 s of a 762-row night,
    docs/benchmarks.md, finding 14); this reads the model once, with every column's count. -#}
{% test not_null_columns(model, columns) %}
{{ config(fail_calc='coalesce(sum(null_rows), 0)') }}

with

counts as (

    select
        {%- for c in columns %}
        count(*) filter (where {{ adapter.quote(c) }} is null) as {{ adapter.quote(c) }}
        {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from {{ model }}

),

per_column as (

    unpivot counts
    on {% for c in columns %}{{ adapter.quote(c) }}{% if not loop.last %}, {% endif %}{% endfor %}
    into name column_name value null_rows

)

select column_name, null_rows
from per_column
where null_rows > 0
{% endtest %}
