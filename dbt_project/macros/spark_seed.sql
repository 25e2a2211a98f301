{#- dbt-spark's seed loader binds values into the SQL text without quoting them when it runs
    through `method: session` (SessionConnection formats `sql % parameters`), so a seed cell
    with a space or an apostrophe breaks the insert. Render each value as a Spark literal
    instead (quotes doubled: the profile reads literals without backslash escapes). -#}
{% macro spark__load_csv_rows(model, agate_table) %}
  {% set batch_size = get_batch_size() %}
  {% set column_override = model['config'].get('column_types', {}) %}
  {% set statements = [] %}
  {% for chunk in agate_table.rows | batch(batch_size) %}
      {% set sql %}
          insert into {{ this.render() }} values
          {% for row in chunk -%}
              ({%- for col_name in agate_table.column_names -%}
                  {%- set inferred_type = adapter.convert_type(agate_table, loop.index0) -%}
                  {%- set type = column_override.get(col_name, inferred_type) -%}
                  {%- set value = row[loop.index0] -%}
                  cast({{ itw_radar.spark_literal(value) }} as {{ type }})
                  {%- if not loop.last %},{%- endif %}
              {%- endfor -%})
              {%- if not loop.last %},{%- endif %}
          {%- endfor %}
      {% endset %}
      {% do adapter.add_query(sql, abridge_sql_log=True) %}
      {% if loop.index0 == 0 %}
          {% do statements.append(sql) %}
      {% endif %}
  {% endfor %}
  {{ return(statements[0]) }}
{% endmacro %}

{% macro spark_literal(value) -%}
  {%- if value is none -%}
    null
  {%- elif value is number and value is not boolean -%}
    {{ value }}
  {%- elif value is boolean -%}
    {{ 'true' if value else 'false' }}
  {%- else -%}
    {{ itw_radar.sql_text(value) }}
  {%- endif -%}
{%- endmacro %}
