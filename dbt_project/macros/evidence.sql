{#- The night an incremental evidence table holds, from its comment ('evidence as of
    YYYY-MM-DD', set by its post-hook in the same transaction as its rows), if that night is
    before as_of_date; else none (a first build, a re-run of the same night, an unknown
    comment). Read by the model, to find its new rows, and by its post-hook, to find the
    accounts that left; the comment still names the earlier night when the post-hook runs. -#}
{% macro evidence_stored_night(relation) -%}
    {%- if not execute or in_unit_test() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set found = run_query("select comment from duckdb_tables() where database_name = '" ~ relation.database ~ "' and schema_name = '" ~ relation.schema ~ "' and table_name = '" ~ relation.identifier ~ "'") -%}
    {%- set comment = found.columns[0].values()[0] if found.rows | length > 0 else none -%}
    {%- if comment and comment.startswith('evidence as of ') and comment[15:25] < as_of_date() -%}
        {{- return(comment[15:25]) -}}
    {%- endif -%}
    {{- return(none) -}}
{%- endmacro %}
