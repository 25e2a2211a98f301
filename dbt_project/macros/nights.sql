{#- The night being processed and the incremental bookkeeping around it.

    as_of_date()  'YYYY-MM-DD' of the night: var as_of_date, else the environment variable
                  ITW_RADAR_AS_OF_DATE, else the latest night in raw.load_files (a placeholder
                  while dbt parses). The environment variable is read only while dbt
                  executes: dbt records what a parse reads, and a var or an environment
                  variable read there would make every night's parse a full one (the DAG's
                  producer reuses the last night's saved parse).
    given_night()  the night dbt was given ('YYYY-MM-DD'): var as_of_date, else the
                  environment variable (while dbt executes); '' when neither is set.
    night_given()  whether the night was given (var or environment variable).
    as_of()       the same as a DuckDB DATE literal.
    processed_bound()  the last night whose results are already stored (exclusive lower bound
                  of the nights this run computes): the latest night in risk_daily, but never
                  as_of_date itself, so that re-running a night recomputes it. 1900-01-01 on a
                  first run or with --full-refresh: every night up to as_of_date is recomputed.
    incremental_bound(col)  for an incremental model: rows with col > this are (re)built.
                  The later of the table's latest col and processed_bound(): a night that
                  stores no rows (no new document pairs, no text on a rare shingle) is still
                  a night done, so the next one does not compare every night since the table's
                  last row again. (In a dbt unit test, the given table's latest col alone.)
-#}

{#- The one place that reads the night given to dbt. A value of ITW_RADAR_AS_OF_DATE that is not
    YYYY-MM-DD stops the run with a message naming the variable. -#}
{% macro given_night() -%}
    {%- set v = var('as_of_date', none) -%}
    {%- if v -%}
        {{- return(v | string) -}}
    {%- elif not execute -%}
        {{- return('') -}}
    {%- endif -%}
    {%- set night = env_var('ITW_RADAR_AS_OF_DATE', '') -%}
    {%- if night and not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', night) -%}
        {{- exceptions.raise_compiler_error("ITW_RADAR_AS_OF_DATE is '" ~ night ~ "': set it to the night as YYYY-MM-DD, or unset it to score the latest night loaded") -}}
    {%- endif -%}
    {{- return(night) -}}
{%- endmacro %}

{% macro as_of_date() -%}
    {%- set night = given_night() -%}
    {%- if night -%}
        {{- return(night) -}}
    {%- elif not execute -%}
        {{- return('1970-01-01') -}}
    {%- endif -%}
    {%- set res = run_query("select coalesce(max(export_date), current_date)::string from " ~ source('raw', 'load_files')) -%}
    {{- return(res.columns[0].values()[0]) -}}
{%- endmacro %}

{#- Whether dbt was given the night (var as_of_date or ITW_RADAR_AS_OF_DATE), not left to take
    the latest night loaded: false while dbt parses, where nothing is read. -#}
{% macro night_given() -%}
    {{- return(execute and given_night() | length > 0) -}}
{%- endmacro %}

{% macro as_of() -%}
    date '{{ as_of_date() }}'
{%- endmacro %}

{% macro processed_bound() -%}
    {%- if flags.FULL_REFRESH or not execute -%}
        {{- return("date '1900-01-01'") -}}
    {%- endif -%}
    {%- set rel = adapter.get_relation(database=target.database, schema=target.schema, identifier='risk_daily') -%}
    {%- if rel is none -%}
        {{- return("date '1900-01-01'") -}}
    {%- endif -%}
    {%- set res = run_query("select least(coalesce(max(as_of_date), date '1900-01-01'), " ~ as_of() ~ " - 1)::string from " ~ rel) -%}
    {{- return("date '" ~ res.columns[0].values()[0] ~ "'") -}}
{%- endmacro %}

{#- Whether the node being compiled is a dbt unit test (its `this` and inputs are given rows). -#}
{% macro in_unit_test() -%}
    {{- return(model is mapping and model.get('resource_type') == 'unit_test') -}}
{%- endmacro %}

{% macro incremental_bound(col) -%}
    {%- if is_incremental() -%}
        {%- set stored = "least(coalesce(max(" ~ col ~ "), date '1900-01-01'), " ~ as_of() ~ " - 1)" -%}
        {%- if in_unit_test() -%}
        (select {{ stored }} from {{ this }})
        {%- else -%}
        (select greatest({{ stored }}, {{ processed_bound() }}) from {{ this }})
        {%- endif -%}
    {%- else -%}
        date '1900-01-01'
    {%- endif -%}
{%- endmacro %}

{#- A constant lower bound for a lookback join `col between nights.night - days and
    nights.night`: every night of this run is after processed_bound(), so rows older than
    processed_bound() - days can never match. The join's own condition already excludes them;
    this copy is a constant, which DuckDB turns into a zone-map filter on the scan, so a night
    reads its window of a stored table, not all of its history. -#}
{% macro after_window_start(col, days) -%}
    {%- if in_unit_test() -%}
        true /* unit test: its given rows are the whole table */
    {%- else -%}
        {{ col }} > {{ processed_bound() }} - ({{ days }})
    {%- endif -%}
{%- endmacro %}

{#- Threshold of an indicator from var indicator_thresholds, or the approved one (macro
    rule_overrides). -#}
{% macro th(indicator_id, name) -%}
    {%- set all = var('indicator_thresholds') -%}
    {%- if indicator_id not in all or name not in all[indicator_id] -%}
        {{ exceptions.raise_compiler_error("var indicator_thresholds has no " ~ indicator_id ~ "." ~ name ~ ": add it to dbt_project.yml") }}
    {%- endif -%}
    {%- set changed = rule_overrides().get('thresholds', {}).get(indicator_id, {}) -%}
    {{- changed[name] if name in changed else all[indicator_id][name] -}}
{%- endmacro %}

{#- Linear ramp from 0 at `lo` to 1 at `hi`, clamped (hi may be below lo for "smaller is worse"). -#}
{% macro ramp(expr, lo, hi) -%}
    greatest(0.0, least(1.0, (({{ expr }}) - ({{ lo }})) / nullif(({{ hi }}) - ({{ lo }}), 0)))
{%- endmacro %}

{#- Every indicator with a model int_indicator__<id> (must match seeds/indicators.csv). -#}
{% macro indicator_ids() -%}
    {{ return(['login_ip_burst', 'continuous_presence', 'shared_ip', 'extreme_hours',
               'self_rating', 'document_reuse', 'low_rate', 'video_avoidance', 'off_platform',
               'proxy_account', 'proxy_phone', 'foreign_hours', 'remote_desktop',
               'anonymised_ip', 'shared_device', 'crypto_payout', 'payout_churn',
               'watchlist', 'concurrent_contracts', 'proposal_spray', 'template_text',
               'reference_ring', 'identity_mismatch', 'handover_after_verification',
               'dormant_reactivation']) }}
{%- endmacro %}

{#- Indicators whose model outputs a column sign_group: a hit that is the fact of another sign
    group (a referral ring only through a shared line; a household's shared phone; two VPN users
    meeting only on commercial exits) names that group, so that one fact counts as one sign. -#}
{% macro indicators_with_sign_group() -%}
    {{ return(['shared_ip', 'proxy_phone', 'reference_ring']) }}
{%- endmacro %}

{#- Risk tier of a 0-100 score (thresholds in vars tier_high / tier_medium / tier_low, or the
    approved ones: macro tier_bound). -#}
{% macro risk_tier(score) -%}
    case
        when {{ score }} >= {{ tier_bound('high') }} then 'high'
        when {{ score }} >= {{ tier_bound('medium') }} then 'medium'
        when {{ score }} >= {{ tier_bound('low') }} then 'low'
        else 'none'
    end
{%- endmacro %}

{#- For an incremental event staging model: keep only rows whose event was not delivered on an
    earlier night. An event is delivered on or after the day it happened (GX allows a time up to
    the end of the day after the export day, hence - 1), so its earlier deliveries lie in the
    nights from the earliest event day of tonight's rows: the check reads those nights, not the
    whole history, and a night's cost does not grow with months of stored events. -#}
{% macro not_delivered_before(key, event_time) -%}
    {%- if is_incremental() %}
where not exists (
    select 1 from {{ this }} as seen
    where seen.{{ key }} = renamed.{{ key }}
      and seen.export_date <= {{ incremental_bound('export_date') }}
      and seen.export_date >= (select min({{ event_time }})::date - 1 from source)
)
    {%- endif %}
{%- endmacro %}

{#- The last night whose rows a data test has already checked: var tested_through (the rebuild
    passes the previous batch's night; '1900-01-01' for its first), else the latest night
    published before as_of_date (raw.load_log: its tests passed), else 1900-01-01. Rows of a
    later night were written by this run, or by a run that did not publish, and are checked
    again. -#}
{% macro tested_through() -%}
    {%- set v = var('tested_through', none) -%}
    {%- if v -%}
        date '{{ v }}'
    {%- else -%}
        (select coalesce(max(export_date), date '1900-01-01') from {{ source('raw', 'load_log') }}
         where step = 'publish' and status = 'success' and export_date < {{ as_of() }})
    {%- endif -%}
{%- endmacro %}

{#- The rows of `relation` (a CTE of a staging model) with one row per `keys` (a list of
    columns): the first by `order_by`. Most keys arrive once, so only the repeated ones are
    ranked: on the 1M-account platform a window over a night's 3M logins took 4 s of CPU, the
    grouping that finds the few repeated ids well under 1 s (docs/benchmark-findings.md,
    finding 25). Keys are compared with `is not distinct from`, as a window's partition does. -#}
{% macro first_row_per(relation, keys, order_by) -%}
    {{ return(adapter.dispatch('first_row_per', 'itw_radar')(relation, keys, order_by)) }}
{%- endmacro %}

{% macro default__first_row_per(relation, keys, order_by) -%}
    {%- set cols = keys | join(', ') -%}
    {%- set same -%}
        {%- for k in keys %}r.{{ k }} is not distinct from s.{{ k }}{{ ' and ' if not loop.last }}{% endfor -%}
    {%- endset %}
    {%- set repeated = "(select " ~ cols ~ " from " ~ relation ~ " group by " ~ cols ~ " having count(*) > 1)" %}
    select s.* from {{ relation }} as s
    anti join {{ repeated }} as r on {{ same }}
    union all
    (select s.* from {{ relation }} as s
     semi join {{ repeated }} as r on {{ same }}
     qualify row_number() over (partition by {{ cols }} order by {{ order_by }}) = 1)
{%- endmacro %}

{#- Spark: one window (its planner spreads it over the cluster's cores). -#}
{% macro spark__first_row_per(relation, keys, order_by) -%}
    select * from {{ relation }}
    qualify row_number() over (partition by {{ keys | join(', ') }} order by {{ order_by }}) = 1
{%- endmacro %}
