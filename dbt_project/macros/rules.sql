{#- Approved rule changes (itw_radar.rules, `itw-radar rules`): weights, thresholds and tiers
    that differ from the defaults (seed indicator_catalog, vars indicator_thresholds and
    tier_*), as JSON in the environment variable ITW_RADAR_RULES:

        {"weights": {"foreign_hours": 0.5}, "thresholds": {"low_rate": {"max_ratio": 0.5}},
         "tiers": {"medium": 30}}

    The DAG's dbt tasks template it per run (dag_settings.dbt_env); `itw-radar rebuild` and the
    backtest set it in-process. Like the night (macro given_night), it is read only while dbt
    executes: a value read while dbt parses would make every change, and every night after it,
    a full parse. Unset or empty: the defaults, and the compiled SQL is the same as without
    these macros.
-#}

{% macro rule_overrides() -%}
    {%- if not execute -%}
        {{- return({}) -}}
    {%- endif -%}
    {%- set raw = env_var('ITW_RADAR_RULES', '') -%}
    {%- if not raw | trim -%}
        {{- return({}) -}}
    {%- endif -%}
    {%- set doc = fromjson(raw) -%}
    {%- if doc is not mapping -%}
        {{- exceptions.raise_compiler_error("ITW_RADAR_RULES is not a JSON object with weights, thresholds and tiers: unset it, or let `itw-radar rules` write it") -}}
    {%- endif -%}
    {%- for section, values in doc.items() -%}
        {%- if section not in ('weights', 'thresholds', 'tiers') or values is not mapping -%}
            {{- exceptions.raise_compiler_error("ITW_RADAR_RULES: unknown section " ~ section ~ " (weights, thresholds, tiers)") -}}
        {%- endif -%}
        {%- for key, value in values.items() -%}
            {%- set leaves = value.values() | list if section == 'thresholds' and value is mapping else [value] -%}
            {%- for leaf in leaves -%}
                {%- if leaf is not number or leaf is sameas true or leaf is sameas false -%}
                    {{- exceptions.raise_compiler_error("ITW_RADAR_RULES: " ~ section ~ "." ~ key ~ " is not a number") -}}
                {%- endif -%}
            {%- endfor -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(doc) -}}
{%- endmacro %}

{#- An indicator's weight: `column` (the seed's), or the approved one for the indicator in
    `id_column`; `alias` names the result where the caller selects it as a column. -#}
{% macro rule_weight(column='weight', id_column='indicator_id', alias=none) -%}
    {%- set weights = rule_overrides().get('weights', {}) -%}
    {%- if not weights -%}
        {{- column -}}
    {%- else -%}
        (case {{ id_column }}
        {%- for indicator_id, weight in weights.items() %}
            when '{{ indicator_id | replace("'", "''") }}' then {{ weight }}::double
        {%- endfor %}
            else {{ column }} end){% if alias %} as {{ alias }}{% endif %}
    {%- endif -%}
{%- endmacro %}

{#- var indicator_thresholds with the approved thresholds in it (the var itself without any). -#}
{% macro rule_thresholds() -%}
    {%- set changed = rule_overrides().get('thresholds', {}) -%}
    {%- set defaults = var('indicator_thresholds') -%}
    {%- if not changed -%}
        {{- return(defaults) -}}
    {%- endif -%}
    {%- set merged = {} -%}
    {%- for indicator_id, values in defaults.items() -%}
        {%- set one = {} -%}
        {%- do one.update(values) -%}
        {%- do one.update(changed.get(indicator_id, {})) -%}
        {%- do merged.update({indicator_id: one}) -%}
    {%- endfor -%}
    {{- return(merged) -}}
{%- endmacro %}

{#- The lowest score of a tier (high, medium, low): var tier_<tier>, or the approved one. -#}
{% macro tier_bound(tier) -%}
    {%- set tiers = rule_overrides().get('tiers', {}) -%}
    {{- tiers[tier] if tier in tiers else var('tier_' ~ tier) -}}
{%- endmacro %}
