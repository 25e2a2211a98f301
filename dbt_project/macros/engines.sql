{#- What differs between the engines the project runs on: DuckDB (the default) and Apache Spark
    (`--target spark`, docs/scale-out.md). Models call these macros instead of writing one
    engine's dialect; `adapter.dispatch` picks `spark__...` on Spark and `default__...` (DuckDB's
    SQL) elsewhere. -#}

{#- Incremental by night: each run replaces the rows of the nights (values of `key`) it computes.
    DuckDB deletes and inserts by key. Spark's Parquet tables cannot delete rows: the table is
    partitioned by the night and the run overwrites the partitions it writes (the same result).
    A key that is not a night (an account id) would make a partition per account: on Spark
    such a model is rebuilt whole, which gives the same rows (tests/test_dbt_project.py checks
    that a full refresh equals the incremental result). Extra config goes through kwargs. -#}
{% macro night_incremental(key) -%}
    {{ return(adapter.dispatch('night_incremental', 'itw_radar')(key, kwargs)) }}
{%- endmacro %}

{% macro default__night_incremental(key, extra) -%}
    {%- set c = {'materialized': 'incremental', 'incremental_strategy': 'delete+insert',
                 'unique_key': key} -%}
    {%- do c.update(extra) -%}
    {{ return(c) }}
{%- endmacro %}

{% macro spark__night_incremental(key, extra) -%}
    {%- if key in ['account_id'] -%}
        {%- set c = {'materialized': 'table', 'file_format': 'parquet'} -%}
    {%- else -%}
        {%- set c = {'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite',
                     'partition_by': [key], 'file_format': 'parquet'} -%}
    {%- endif -%}
    {%- do c.update(extra) -%}
    {%- if c.get('materialized') == 'table' -%}
        {%- do c.pop('on_schema_change', none) -%}
    {%- endif -%}
    {{ return(c) }}
{%- endmacro %}

{#- A pre-hook: forget the stored rows of nights after `bound` (a SQL expression), so that
    re-running an earlier night recomputes what follows it. -#}
{% macro delete_nights_after(relation, col, bound) -%}
    {{ return(adapter.dispatch('delete_nights_after', 'itw_radar')(relation, col, bound)) }}
{%- endmacro %}

{% macro default__delete_nights_after(relation, col, bound) -%}
    delete from {{ relation }} where {{ col }} > {{ bound }}
{%- endmacro %}

{% macro spark__delete_nights_after(relation, col, bound) -%}
    {%- if execute -%}
        {%- set after = run_query('select cast(' ~ bound ~ ' as string)').columns[0].values()[0] -%}
        {%- for row in run_query('show partitions ' ~ relation) -%}
            {%- set night = row[0].split('=', 1)[1] -%}
            {%- if night > after -%}
                {%- do run_query('alter table ' ~ relation ~ ' drop if exists partition ('
                                 ~ col ~ " = date '" ~ night ~ "')") -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    select 1
{%- endmacro %}

{#- Whole `unit`s ('second', 'minute', 'hour', 'day') between two timestamps or dates, as
    DuckDB's date_diff counts them: the unit boundaries crossed (10:00:59 to 10:01:00 is one
    minute). -#}
{% macro diff_units(unit, start, end) -%}
    {{ return(adapter.dispatch('diff_units', 'itw_radar')(unit, start, end)) }}
{%- endmacro %}

{% macro default__diff_units(unit, start, end) -%}
    date_diff('{{ unit }}', {{ start }}, {{ end }})
{%- endmacro %}

{% macro spark__diff_units(unit, start, end) -%}
    {%- if unit == 'day' -%}
    datediff(cast({{ end }} as date), cast({{ start }} as date))
    {%- else -%}
    {%- set secs = {'second': 1, 'minute': 60, 'hour': 3600}[unit] -%}
    (floor(unix_seconds(cast({{ end }} as timestamp)) / {{ secs }}) - floor(unix_seconds(cast({{ start }} as timestamp)) / {{ secs }}))
    {%- endif -%}
{%- endmacro %}

{#- Microseconds since 1970-01-01 UTC of a timestamp. -#}
{% macro epoch_us(ts) -%}
    {{ return(adapter.dispatch('epoch_us', 'itw_radar')(ts)) }}
{%- endmacro %}

{% macro default__epoch_us(ts) -%}
    epoch_us({{ ts }})
{%- endmacro %}

{% macro spark__epoch_us(ts) -%}
    unix_micros(cast({{ ts }} as timestamp))
{%- endmacro %}

{#- A timestamp or date as text: 'date' (2026-03-10) or 'minute' (2026-03-10 14:05), UTC. -#}
{% macro ts_text(ts, precision='minute') -%}
    {{ return(adapter.dispatch('ts_text', 'itw_radar')(ts, precision)) }}
{%- endmacro %}

{% macro default__ts_text(ts, precision) -%}
    strftime({{ ts }}, '{{ "%Y-%m-%d %H:%M" if precision == "minute" else "%Y-%m-%d" }}')
{%- endmacro %}

{% macro spark__ts_text(ts, precision) -%}
    date_format({{ ts }}, '{{ "yyyy-MM-dd HH:mm" if precision == "minute" else "yyyy-MM-dd" }}')
{%- endmacro %}

{#- One row per integer from lo to hi (inclusive), in a select list. -#}
{% macro each_integer(lo, hi) -%}
    {{ return(adapter.dispatch('each_integer', 'itw_radar')(lo, hi)) }}
{%- endmacro %}

{% macro default__each_integer(lo, hi) -%}
    unnest(range({{ lo }}, {{ hi }} + 1))
{%- endmacro %}

{% macro spark__each_integer(lo, hi) -%}
    explode(sequence({{ lo }}, {{ hi }}))
{%- endmacro %}

{#- SHA-256 of a text, as lower-case hex. -#}
{% macro sha256_hex(text) -%}
    {{ return(adapter.dispatch('sha256_hex', 'itw_radar')(text)) }}
{%- endmacro %}

{% macro default__sha256_hex(text) -%}
    sha256({{ text }})
{%- endmacro %}

{% macro spark__sha256_hex(text) -%}
    sha2({{ text }}, 256)
{%- endmacro %}

{#- Integer division of non-negative integers. -#}
{% macro idiv(a, b) -%}
    {{ return(adapter.dispatch('idiv', 'itw_radar')(a, b)) }}
{%- endmacro %}
{% macro default__idiv(a, b) -%}({{ a }} // {{ b }}){%- endmacro %}
{% macro spark__idiv(a, b) -%}({{ a }} div {{ b }}){%- endmacro %}

{#- Whether a regular expression (RE2 / Java syntax both read: (?i), \b, \s, \p{L}) matches
    anywhere in a text. -#}
{% macro re_match(text, pattern) -%}
    {{ return(adapter.dispatch('re_match', 'itw_radar')(text, pattern)) }}
{%- endmacro %}
{% macro default__re_match(text, pattern) -%}regexp_matches({{ text }}, {{ pattern }}){%- endmacro %}
{% macro spark__re_match(text, pattern) -%}regexp_like({{ text }}, {{ pattern }}){%- endmacro %}

{#- Texts joined with `sep` in the order of `order_by` (an aggregate; null over no rows). A
    FILTER (WHERE ...) clause may follow it. `distinct`: each text once, ordered by itself. -#}
{% macro agg_text(expr, sep, order_by, distinct=false) -%}
    {{ return(adapter.dispatch('agg_text', 'itw_radar')(expr, sep, order_by, distinct)) }}
{%- endmacro %}
{% macro default__agg_text(expr, sep, order_by, distinct) -%}
    string_agg({{ 'distinct ' if distinct }}{{ expr }}, {{ sep }} order by {{ order_by }})
{%- endmacro %}
{% macro spark__agg_text(expr, sep, order_by, distinct) -%}
    {%- if distinct -%}
    {#- Spark 4.3 fails on string_agg(distinct x) within group (order by x) of an expression -#}
    nullif(array_join(array_sort(array_distinct(collect_list({{ expr }}))), {{ sep }}), '')
    {%- else -%}
    string_agg({{ expr }}, {{ sep }}) within group (order by {{ order_by }})
    {%- endif -%}
{%- endmacro %}

{#- The value of `value` on the row with the smallest `key` (an aggregate), a null value
    included. (DuckDB's arg_max / arg_min, which skip null values, are written max_by / min_by:
    both engines know those names.) -#}
{% macro arg_min_null(value, key) -%}
    {{ return(adapter.dispatch('arg_min_null', 'itw_radar')(value, key)) }}
{%- endmacro %}
{% macro default__arg_min_null(value, key) -%}arg_min_null({{ value }}, {{ key }}){%- endmacro %}
{% macro spark__arg_min_null(value, key) -%}min_by({{ value }}, {{ key }}){%- endmacro %}

{#- Lists. `var` and `body` spell a lambda: list_where(words, 'w', 'length(w) > 0'). -#}
{% macro list_where(list, var, body) -%}
    {{ return(adapter.dispatch('list_where', 'itw_radar')(list, var, body)) }}
{%- endmacro %}
{% macro default__list_where(list, var, body) -%}list_filter({{ list }}, lambda {{ var }}: {{ body }}){%- endmacro %}
{% macro spark__list_where(list, var, body) -%}filter({{ list }}, {{ var }} -> {{ body }}){%- endmacro %}

{% macro list_map(list, var, body) -%}
    {{ return(adapter.dispatch('list_map', 'itw_radar')(list, var, body)) }}
{%- endmacro %}
{% macro default__list_map(list, var, body) -%}list_transform({{ list }}, lambda {{ var }}: {{ body }}){%- endmacro %}
{% macro spark__list_map(list, var, body) -%}transform({{ list }}, {{ var }} -> {{ body }}){%- endmacro %}

{#- A text split on a regular expression, as a list. -#}
{% macro re_split(text, pattern) -%}
    {{ return(adapter.dispatch('re_split', 'itw_radar')(text, pattern)) }}
{%- endmacro %}
{% macro default__re_split(text, pattern) -%}regexp_split_to_array({{ text }}, {{ pattern }}){%- endmacro %}
{% macro spark__re_split(text, pattern) -%}split({{ text }}, {{ pattern }}){%- endmacro %}

{#- A list literal from expressions. -#}
{% macro list_of() -%}
    {{ return(adapter.dispatch('list_of', 'itw_radar')(varargs)) }}
{%- endmacro %}
{% macro default__list_of(items) -%}[{{ items | join(', ') }}]{%- endmacro %}
{% macro spark__list_of(items) -%}array({{ items | join(', ') }}){%- endmacro %}

{#- One row per element of a list, in a select list. -#}
{% macro each_of(list) -%}
    {{ return(adapter.dispatch('each_of', 'itw_radar')(list)) }}
{%- endmacro %}
{% macro default__each_of(list) -%}unnest({{ list }}){%- endmacro %}
{% macro spark__each_of(list) -%}explode({{ list }}){%- endmacro %}

{#- Number of elements of a list. -#}
{% macro list_size(list) -%}
    {{ return(adapter.dispatch('list_size', 'itw_radar')(list)) }}
{%- endmacro %}
{% macro default__list_size(list) -%}len({{ list }}){%- endmacro %}
{% macro spark__list_size(list) -%}size({{ list }}){%- endmacro %}

{#- A 64-bit hash of a value (texts, lists of texts): the same value, the same hash within one
    engine (the engines' hashes differ; no result depends on the numbers themselves). -#}
{% macro hash64(value) -%}
    {{ return(adapter.dispatch('hash64', 'itw_radar')(value)) }}
{%- endmacro %}
{% macro default__hash64(value) -%}hash({{ value }}){%- endmacro %}
{% macro spark__hash64(value) -%}xxhash64({{ value }}){%- endmacro %}

{#- The i-th element of a list, counting from 1. -#}
{% macro list_at(list, i) -%}
    {{ return(adapter.dispatch('list_at', 'itw_radar')(list, i)) }}
{%- endmacro %}
{% macro default__list_at(list, i) -%}{{ list }}[{{ i }}]{%- endmacro %}
{% macro spark__list_at(list, i) -%}element_at({{ list }}, {{ i }}){%- endmacro %}

{#- The list of integers lo, lo + 1, ..., hi - 1 (empty when hi <= lo). -#}
{% macro int_range(lo, hi) -%}
    {{ return(adapter.dispatch('int_range', 'itw_radar')(lo, hi)) }}
{%- endmacro %}
{% macro default__int_range(lo, hi) -%}range({{ lo }}, {{ hi }}){%- endmacro %}
{% macro spark__int_range(lo, hi) -%}
    (case when {{ hi }} > {{ lo }} then sequence(cast({{ lo }} as int), cast({{ hi }} as int) - 1) else cast(array() as array<int>) end)
{%- endmacro %}

{#- Every column but some, in a select list: all_but('body') or all_but('a, b'). -#}
{% macro all_but(columns, relation='') -%}
    {{ return(adapter.dispatch('all_but', 'itw_radar')(columns, relation)) }}
{%- endmacro %}
{% macro default__all_but(columns, relation) -%}{{ relation ~ '.' if relation }}* exclude ({{ columns }}){%- endmacro %}
{% macro spark__all_but(columns, relation) -%}{{ relation ~ '.' if relation }}* except ({{ columns }}){%- endmacro %}

{#- A list without repeated elements (in no particular order). -#}
{% macro list_distinct(list) -%}
    {{ return(adapter.dispatch('list_distinct', 'itw_radar')(list)) }}
{%- endmacro %}
{% macro default__list_distinct(list) -%}list_distinct({{ list }}){%- endmacro %}
{% macro spark__list_distinct(list) -%}array_distinct({{ list }}){%- endmacro %}

{#- The values of an aggregate's rows as a list, in the order of `order_by` (ascending) if given
    (nulls left out: filter them before on DuckDB). -#}
{% macro list_agg(expr, order_by=none) -%}
    {{ return(adapter.dispatch('list_agg', 'itw_radar')(expr, order_by)) }}
{%- endmacro %}
{% macro default__list_agg(expr, order_by) -%}list({{ expr }}{{ ' order by ' ~ order_by if order_by }}){%- endmacro %}
{% macro spark__list_agg(expr, order_by) -%}
    {%- if order_by is none -%}collect_list({{ expr }})
    {%- elif order_by == expr -%}array_sort(collect_list({{ expr }}))
    {%- else -%}transform(array_sort(collect_list(struct({{ _sort_keys(order_by) }}, {{ expr }} as v))), x -> x.v)
    {%- endif -%}
{%- endmacro %}

{#- An order-by list ('a desc, b') as the leading fields of a struct that sorts the same way:
    a descending key is negated, so it must be a number. -#}
{% macro _sort_keys(order_by) -%}
    {%- set keys = [] -%}
    {%- for key in order_by.split(',') -%}
        {%- set key = key.strip() -%}
        {%- if key.lower().endswith(' desc') -%}
            {%- do keys.append('-(' ~ key[:-5].strip() ~ ') as k' ~ loop.index) -%}
        {%- else -%}
            {%- do keys.append(key ~ ' as k' ~ loop.index) -%}
        {%- endif -%}
    {%- endfor -%}
    {{ keys | join(', ') }}
{%- endmacro %}

{#- A number rounded to n decimals, a tie away from zero, the same on both engines. DuckDB
    rounds a double's exact binary value (10.475 is 10.47499999...: 10.47), Spark its shortest
    decimal form (10.475: 10.48); formats differ too ('{:.0f}' of 10.5: 10 on DuckDB, 11 in
    Spark's format_string). Rounded first to 9 decimals as a DECIMAL, both see 10.475 and round
    it to 10.48. Scores, points and the numbers in reasons go through it. -#}
{% macro round_half_up(x, n) -%}
    cast(round(cast({{ x }} as decimal(38, 9)), {{ n }}) as double)
{%- endmacro %}

{#- The sum of an aggregate's values added one by one in the order of `order_by`: a parallel
    sum of doubles can differ in the last bit from run to run. -#}
{% macro ordered_sum(expr, order_by) -%}
    {{ return(adapter.dispatch('ordered_sum', 'itw_radar')(expr, order_by)) }}
{%- endmacro %}
{% macro default__ordered_sum(expr, order_by) -%}list_sum(list({{ expr }} order by {{ order_by }})){%- endmacro %}
{% macro spark__ordered_sum(expr, order_by) -%}
    aggregate({{ spark__list_agg(expr, order_by) }}, cast(0 as double), (acc, x) -> acc + x)
{%- endmacro %}

{#- An empty list, and the type of a list, of `type` ('string', 'bigint', ...). -#}
{% macro empty_list(type) -%}
    {{ return(adapter.dispatch('empty_list', 'itw_radar')(type)) }}
{%- endmacro %}
{% macro default__empty_list(type) -%}[]::{{ type }}[]{%- endmacro %}
{% macro spark__empty_list(type) -%}cast(array() as array<{{ type }}>){%- endmacro %}

{% macro list_type(type) -%}
    {{ return(adapter.dispatch('list_type', 'itw_radar')(type)) }}
{%- endmacro %}
{% macro default__list_type(type) -%}{{ type }}[]{%- endmacro %}
{% macro spark__list_type(type) -%}array<{{ type }}>{%- endmacro %}

{% macro list_concat() -%}
    {{ return(adapter.dispatch('list_concat', 'itw_radar')(varargs)) }}
{%- endmacro %}
{% macro default__list_concat(lists) -%}list_concat({{ lists | join(', ') }}){%- endmacro %}
{% macro spark__list_concat(lists) -%}concat({{ lists | join(', ') }}){%- endmacro %}

{#- The first n elements of a list. -#}
{% macro list_head(list, n) -%}
    {{ return(adapter.dispatch('list_head', 'itw_radar')(list, n)) }}
{%- endmacro %}
{% macro default__list_head(list, n) -%}list_slice({{ list }}, 1, {{ n }}){%- endmacro %}
{% macro spark__list_head(list, n) -%}slice({{ list }}, 1, {{ n }}){%- endmacro %}

{% macro list_sorted(list) -%}
    {{ return(adapter.dispatch('list_sorted', 'itw_radar')(list)) }}
{%- endmacro %}
{% macro default__list_sorted(list) -%}list_sort({{ list }}){%- endmacro %}
{% macro spark__list_sorted(list) -%}array_sort({{ list }}){%- endmacro %}

{#- A text split at every occurrence of a plain separator (no regular expression). -#}
{% macro split_text(text, sep) -%}
    {{ return(adapter.dispatch('split_text', 'itw_radar')(text, sep)) }}
{%- endmacro %}
{% macro default__split_text(text, sep) -%}string_split({{ text }}, '{{ sep }}'){%- endmacro %}
{% macro spark__split_text(text, sep) -%}split({{ text }}, '{{ modules.re.escape(sep) }}'){%- endmacro %}

{#- Type names: the 64-bit hash of hash64 (DuckDB UBIGINT; Spark BIGINT), a small count (DuckDB
    UTINYINT; Spark TINYINT). -#}
{% macro hash_type() -%}
    {{ return(adapter.dispatch('hash_type', 'itw_radar')()) }}
{%- endmacro %}
{% macro default__hash_type() -%}ubigint{%- endmacro %}
{% macro spark__hash_type() -%}bigint{%- endmacro %}

{% macro small_count_type() -%}
    {{ return(adapter.dispatch('small_count_type', 'itw_radar')()) }}
{%- endmacro %}
{% macro default__small_count_type() -%}utinyint{%- endmacro %}
{% macro spark__small_count_type() -%}tinyint{%- endmacro %}

{#- A formatted text's function and template, the arguments follow in the model:
    `{{ fmt_head("'{} logins at {:.1f}'") }}, n, x)`. DuckDB: format('{} logins at {:.1f}', ...;
    Spark: format_string('%s logins at %.1f', ... (the same text; a double may print with a
    different number of digits). -#}
{% macro fmt_head(template) -%}
    {{ return(adapter.dispatch('fmt_head', 'itw_radar')(template)) }}
{%- endmacro %}
{% macro default__fmt_head(template) -%}format({{ template }}{%- endmacro %}
{% macro spark__fmt_head(template) -%}
    {%- set text = template[1:-1].replace("''", "'") -%}
    {%- set java = modules.re.sub('[{]:([^}]*)[}]', '%\\1', text.replace('%', '%%')).replace('{}', '%s') -%}
    format_string({{ sql_text(java) }}
{%- endmacro %}

{#- A text as an SQL string literal. Spark reads literals raw (the profile's
    escapedStringLiterals, so that a regex's backslashes stay), where a quote cannot be doubled:
    there a text with quotes is a concat of its parts and "'". -#}
{% macro sql_text(value) -%}
    {{ return(adapter.dispatch('sql_text', 'itw_radar')(value)) }}
{%- endmacro %}
{% macro default__sql_text(value) -%}'{{ value | replace("'", "''") }}'{%- endmacro %}
{% macro spark__sql_text(value) -%}
    {%- set parts = (value | string).split("'") -%}
    {%- if parts | length == 1 -%}'{{ value }}'
    {%- else -%}concat({% for p in parts %}'{{ p }}'{{ ", \"'\", " if not loop.last }}{% endfor %})
    {%- endif -%}
{%- endmacro %}

{#- The distinct values of an aggregate's rows as a sorted list (nulls left out), with a
    condition: sorted_set_agg('network', 'is_new'). Never null: an empty list over no rows. -#}
{% macro sorted_set_agg(expr, cond='true') -%}
    {{ return(adapter.dispatch('sorted_set_agg', 'itw_radar')(expr, cond)) }}
{%- endmacro %}
{% macro default__sorted_set_agg(expr, cond) -%}
    list_sort(list_distinct(coalesce(list({{ expr }}) filter (where ({{ cond }}) and {{ expr }} is not null), [])))
{%- endmacro %}
{% macro spark__sorted_set_agg(expr, cond) -%}
    array_sort(array_distinct(collect_list({{ expr }}) filter (where ({{ cond }}) and {{ expr }} is not null)))
{%- endmacro %}

{#- A list as text, its elements joined with `sep`. -#}
{% macro list_text(list, sep) -%}
    {{ return(adapter.dispatch('list_text', 'itw_radar')(list, sep)) }}
{%- endmacro %}
{% macro default__list_text(list, sep) -%}array_to_string({{ list }}, {{ sep }}){%- endmacro %}
{% macro spark__list_text(list, sep) -%}array_join({{ list }}, {{ sep }}){%- endmacro %}

{#- Whether two lists share an element. -#}
{% macro lists_overlap(a, b) -%}
    {{ return(adapter.dispatch('lists_overlap', 'itw_radar')(a, b)) }}
{%- endmacro %}
{% macro default__lists_overlap(a, b) -%}list_has_any({{ a }}, {{ b }}){%- endmacro %}
{% macro spark__lists_overlap(a, b) -%}arrays_overlap({{ a }}, {{ b }}){%- endmacro %}

{#- The local hour (0-23) of a UTC timestamp in an IANA time zone ('Asia/Seoul'). -#}
{% macro local_hour(ts, tz) -%}
    {{ return(adapter.dispatch('local_hour', 'itw_radar')(ts, tz)) }}
{%- endmacro %}
{% macro default__local_hour(ts, tz) -%}hour(timezone({{ tz }}, ({{ ts }})::timestamptz)){%- endmacro %}
{% macro spark__local_hour(ts, tz) -%}hour(from_utc_timestamp({{ ts }}, {{ tz }})){%- endmacro %}


{#- One row per value from lo to hi (inclusive) in steps of `step` (timestamps and an interval,
    or integers), in a select list. -#}
{% macro each_step(lo, hi, step) -%}
    {{ return(adapter.dispatch('each_step', 'itw_radar')(lo, hi, step)) }}
{%- endmacro %}
{% macro default__each_step(lo, hi, step) -%}unnest(generate_series({{ lo }}, {{ hi }}, {{ step }})){%- endmacro %}
{% macro spark__each_step(lo, hi, step) -%}explode(sequence({{ lo }}, {{ hi }}, {{ step }})){%- endmacro %}

{#- Whether text `s` begins with text `prefix`. -#}
{% macro starts_with(s, prefix) -%}
    {{ return(adapter.dispatch('starts_with', 'itw_radar')(s, prefix)) }}
{%- endmacro %}

{% macro default__starts_with(s, prefix) -%}
    starts_with({{ s }}, {{ prefix }})
{%- endmacro %}

{% macro spark__starts_with(s, prefix) -%}
    startswith({{ s }}, {{ prefix }})
{%- endmacro %}

{#- `name as materialized (`: a CTE computed once, for one whose expensive columns a filter
    above it would otherwise compute a second time (DuckDB pushes the filter into the
    projection). Spark has no such keyword: a plain CTE. -#}
{% macro materialized_cte() -%}
    {{ return(adapter.dispatch('materialized_cte', 'itw_radar')()) }}
{%- endmacro %}

{% macro default__materialized_cte() -%}materialized{%- endmacro %}

{% macro spark__materialized_cte() -%}{%- endmacro %}
