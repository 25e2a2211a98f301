{#- Custom schemas are used as-is (`staging`, `intermediate`, `seeds`); marts stay in the
    target schema (`main`), which is what the publish step copies. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
