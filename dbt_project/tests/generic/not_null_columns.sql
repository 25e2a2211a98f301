{#- Fails with one row per column of `columns` that holds a null: the column's name and its
    null rows (dbt counts those rows: the failure says how many nulls in all).
    dbt's not_null is one test per column, and each test costs dbt ~40 ms of its own whatever
    the data (214 of them were 7.5 s of a 762-row night, docs/benchmark-findings.md, finding
    14). This is one test per model. Each column is counted by a query of its own, `where <column> is
    null`, as dbt's not_null does: DuckDB skips every row group whose statistics hold no null,
    so a column without nulls costs nothing to check. One aggregate over all the columns read
    every value instead (stg_logins, 83M rows: 3-5 s against 0.002 s). -#}
{% test not_null_columns(model, columns) %}
{{ config(fail_calc='coalesce(sum(null_rows), 0)') }}

with

per_column as (
    {%- for c in columns %}

    select '{{ c }}' as column_name, count(*) as null_rows
    from {{ model }}
    where {{ adapter.quote(c) }} is null
    {%- if not loop.last %}

    union all
    {%- endif %}
    {%- endfor %}

)

select column_name, null_rows
from per_column
where null_rows > 0
{% endtest %}
