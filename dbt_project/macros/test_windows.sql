{#- Data tests' `where` windows name the night as {night}: filled in here, when the test runs.

    A `where` written with var('as_of_date') is rendered while dbt parses, so each night's
    different value would make every night's parse a full one; the DAG's producer reuses the
    last night's saved parse (macro as_of_date). {night} becomes the night's DATE literal
    (as_of()) when dbt is given one (var as_of_date, or ITW_RADAR_AS_OF_DATE), else
    date '1900-01-08', so that `x >= {night} - interval 7 day` tests every row.
    Otherwise dbt's own get_where_subquery. -#}
{% macro get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {#- while dbt parses, the night is neither read nor recorded -#}
    {%- if not where or not execute -%}
        {{- return(relation) -}}
    {%- endif -%}
    {%- if '{night}' in where -%}
        {%- set where = where | replace('{night}', as_of() if night_given() else "date '1900-01-08'") -%}
    {%- endif -%}
    {{- return('(select * from ' ~ relation ~ ' where ' ~ where ~ ') dbt_subquery') -}}
{%- endmacro %}
