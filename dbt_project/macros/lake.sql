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
                {#- DECIMAL(18,4) columns are read as DOUBLE: Spark's format_string cannot print a
                    DECIMAL with %f, and DuckDB turns decimals into doubles wherever it divides -#}
                {%- set columns = [] -%}
                {%- set seen = namespace(partition_info=false) -%}
                {%- for row in run_query('describe raw_lake.' ~ src.name) -%}
                    {%- if row[0].startswith('#') -%}{%- set seen.partition_info = true -%}{%- endif -%}
                    {%- if not seen.partition_info and row[0] != 'night' -%}
                        {%- do columns.append('cast(`' ~ row[0] ~ '` as double) as `' ~ row[0] ~ '`'
                            if row[1].startswith('decimal') else '`' ~ row[0] ~ '`') -%}
                    {%- endif -%}
                {%- endfor -%}
                {%- do run_query('create or replace view raw.' ~ src.name ~ ' as select ' ~ columns | join(', ')
                    ~ ', night as _export_date from raw_lake.' ~ src.name) -%}
            {%- endif -%}
            {%- do run_query('refresh table raw.' ~ src.name) -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}
