{#- The raw layer on Spark: external tables over the Parquet lake the loader writes
    (itw_radar.lake, ITW_RADAR_LAKE). Run at the start of every dbt command on Spark; on DuckDB
    the raw tables live in the warehouse and nothing happens. -#}
{% macro register_raw_lake() -%}
    {{ return(adapter.dispatch('register_raw_lake', 'itw_radar')()) }}
{%- endmacro %}

{% macro default__register_raw_lake() -%}
    select 1
{%- endmacro %}

{% macro spark__register_raw_lake() -%}
    {%- if execute -%}
        {%- set lake = env_var('ITW_RADAR_LAKE') -%}
        {%- do run_query('create schema if not exists raw') -%}
        {%- do run_query('create schema if not exists raw_lake') -%}
        {%- for src in graph.sources.values() if src.source_name == 'raw' -%}
            {%- if src.name in ['load_files', 'load_log', 'gx_results', 'quarantine', 'night_clock',
                                'analyst_reviews', 'watchlist_entries'] -%}
                {%- do run_query('create table if not exists raw.' ~ src.name ~ ' using parquet location '
                    ~ "'" ~ lake ~ '/' ~ src.name ~ "/all'") -%}
            {%- else -%}
                {%- do run_query('create table if not exists raw_lake.' ~ src.name ~ ' using parquet location '
                    ~ "'" ~ lake ~ '/' ~ src.name ~ "'") -%}
                {%- do run_query('alter table raw_lake.' ~ src.name ~ ' recover partitions') -%}
                {%- do run_query('refresh table raw_lake.' ~ src.name) -%}
                {%- do run_query('create or replace view raw.' ~ src.name ~ ' as select * except (night), night as _export_date from raw_lake.' ~ src.name) -%}
            {%- endif -%}
            {%- do run_query('refresh table raw.' ~ src.name) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
