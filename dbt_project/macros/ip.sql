{#- IP addresses as numbers, without DuckDB's inet extension (it is downloaded on first use, and
    the pipeline runs offline).

    ip_family(col)  4 for a dotted IPv4 address (also written IPv4-mapped, ::ffff:1.2.3.4), 6 for
                    any other IPv6 address (anything with ':'), else null.
    ip_to_int(col)  the address as a UHUGEINT: IPv4 a.b.c.d as a*2^24 + b*2^16 + c*2^8 + d (an
                    IPv4-mapped address as its IPv4 address), IPv6 as its 128 bits, in the
                    exploded (2001:0db8:0000:...) or the compressed ('::') form, upper or lower
                    case, a zone (%eth0) ignored. Null for text that is not an address.
    Compare two addresses only within one family. -#}

{% macro _mapped_v4(col) -%}
    regexp_extract(lower(trim({{ col }})), '^(?:0{1,4}:){0,5}:?(?:0{0,4}:)?:?ffff:([0-9]{1,3}(?:\.[0-9]{1,3}){3})$', 1)
{%- endmacro %}

{% macro _is_v4(text) -%}
    regexp_full_match({{ text }}, '[0-9]{1,3}(\.[0-9]{1,3}){3}')
{%- endmacro %}

{% macro _v4_to_int(text) -%}
    case when list_max(list_transform(string_split({{ text }}, '.'), lambda p: p::integer)) <= 255 then
        (split_part({{ text }}, '.', 1)::uhugeint << 24)
        + (split_part({{ text }}, '.', 2)::uhugeint << 16)
        + (split_part({{ text }}, '.', 3)::uhugeint << 8)
        + split_part({{ text }}, '.', 4)::uhugeint
    end
{%- endmacro %}

{% macro ip_family(col) -%}
    {{ return(adapter.dispatch('ip_family', 'itw_radar')(col)) }}
{%- endmacro %}

{% macro default__ip_family(col) -%}
    (case
        when {{ _mapped_v4(col) }} <> '' then 4
        when instr({{ col }}, ':') > 0 then 6
        when {{ _is_v4('trim(' ~ col ~ ')') }} then 4
    end)
{%- endmacro %}

{% macro _hex_groups_to_int(groups) -%}
    list_reduce(list_transform({{ groups }}, lambda g: try_cast('0x' || g as uhugeint)),
                lambda acc, g: (acc << 16) + g, 0::uhugeint)
{%- endmacro %}

{% macro _hex_groups(text) -%}
    (case when {{ text }} = '' then []::string[] else string_split({{ text }}, ':') end)
{%- endmacro %}

{% macro ip_to_int(col) -%}
    {{ return(adapter.dispatch('ip_to_int', 'itw_radar')(col)) }}
{%- endmacro %}

{% macro default__ip_to_int(col) -%}
    {%- set s = "lower(regexp_replace(trim(" ~ col ~ "), '%.*$', ''))" -%}
    {%- set left = "(case when instr(" ~ s ~ ", '::') > 0 then split_part(" ~ s ~ ", '::', 1) else " ~ s ~ " end)" -%}
    {%- set right = "(case when instr(" ~ s ~ ", '::') > 0 then split_part(" ~ s ~ ", '::', 2) else '' end)" -%}
    (case
        when {{ _mapped_v4(col) }} <> '' then {{ _v4_to_int(_mapped_v4(col)) }}
        when instr({{ col }}, ':') > 0 then
            case when len({{ _hex_groups(left) }}) + len({{ _hex_groups(right) }}) <= 8 then
                ({{ _hex_groups_to_int(_hex_groups(left)) }}
                    << (16 * (8 - len({{ _hex_groups(left) }})))::uhugeint)
                + {{ _hex_groups_to_int(_hex_groups(right)) }}
            end
        when {{ _is_v4('trim(' ~ col ~ ')') }} then {{ _v4_to_int('trim(' ~ col ~ ')') }}
    end)
{%- endmacro %}

{#- The last address of a range: `lo` (ip_to_int) with its host bits (after `prefix`) set. -#}
{% macro ip_range_end(lo, family, prefix) -%}
    {{ return(adapter.dispatch('ip_range_end', 'itw_radar')(lo, family, prefix)) }}
{%- endmacro %}

{% macro default__ip_range_end(lo, family, prefix) -%}
    {{ lo }} + ((1::uhugeint << ((case {{ family }} when 4 then 32 else 128 end) - {{ prefix }})::uhugeint) - 1)
{%- endmacro %}

{#- The first octet of an IPv4 address given as ip_to_int. -#}
{% macro ip_v4_first_octet(n) -%}
    {{ return(adapter.dispatch('ip_v4_first_octet', 'itw_radar')(n)) }}
{%- endmacro %}

{% macro default__ip_v4_first_octet(n) -%}
    ({{ n }} >> 24)::integer
{%- endmacro %}

{#- Spark has no 128-bit integer: there an address is its bits as text, 32 characters '0'/'1'
    for IPv4 and 128 for IPv6. Within one family the texts have one length, so they compare
    (between, <, =) in the same order as the numbers. -#}
{% macro spark__ip_family(col) -%}
    (case
        when {{ _mapped_v4(col) }} <> '' then 4
        when instr({{ col }}, ':') > 0 then 6
        when trim({{ col }}) rlike '^[0-9]{1,3}([.][0-9]{1,3}){3}$' then 4
    end)
{%- endmacro %}

{% macro _spark_v4_bits(text) -%}
    (case when greatest(cast(split_part({{ text }}, '.', 1) as int), cast(split_part({{ text }}, '.', 2) as int),
                        cast(split_part({{ text }}, '.', 3) as int), cast(split_part({{ text }}, '.', 4) as int)) <= 255
          then lpad(conv(cast(split_part({{ text }}, '.', 1) as bigint) * 16777216 + cast(split_part({{ text }}, '.', 2) as bigint) * 65536
                         + cast(split_part({{ text }}, '.', 3) as bigint) * 256 + cast(split_part({{ text }}, '.', 4) as bigint), 10, 2), 32, '0')
     end)
{%- endmacro %}

{% macro _spark_groups(text) -%}
    (case when {{ text }} = '' then cast(array() as array<string>) else split({{ text }}, ':') end)
{%- endmacro %}

{% macro _spark_groups_bits(groups) -%}
    (case when forall({{ groups }}, g -> g rlike '^[0-9a-f]{1,4}$')
          then array_join(transform({{ groups }}, g -> lpad(conv(g, 16, 2), 16, '0')), '') end)
{%- endmacro %}

{% macro spark__ip_to_int(col) -%}
    {%- set s = "lower(regexp_replace(trim(" ~ col ~ "), '%.*$', ''))" -%}
    {%- set left = "(case when instr(" ~ s ~ ", '::') > 0 then split_part(" ~ s ~ ", '::', 1) else " ~ s ~ " end)" -%}
    {%- set right = "(case when instr(" ~ s ~ ", '::') > 0 then split_part(" ~ s ~ ", '::', 2) else '' end)" -%}
    (case
        when {{ _mapped_v4(col) }} <> '' then {{ _spark_v4_bits(_mapped_v4(col)) }}
        when instr({{ col }}, ':') > 0 then
            case when size({{ _spark_groups(left) }}) + size({{ _spark_groups(right) }}) <= 8 then
                {{ _spark_groups_bits(_spark_groups(left)) }}
                || repeat('0', 16 * (8 - size({{ _spark_groups(left) }}) - size({{ _spark_groups(right) }})))
                || {{ _spark_groups_bits(_spark_groups(right)) }}
            end
        when trim({{ col }}) rlike '^[0-9]{1,3}([.][0-9]{1,3}){3}$' then {{ _spark_v4_bits('trim(' ~ col ~ ')') }}
    end)
{%- endmacro %}

{% macro spark__ip_range_end(lo, family, prefix) -%}
    substr({{ lo }}, 1, {{ prefix }}) || repeat('1', length({{ lo }}) - {{ prefix }})
{%- endmacro %}

{% macro spark__ip_v4_first_octet(n) -%}
    cast(conv(substr({{ n }}, 1, 8), 2, 10) as int)
{%- endmacro %}
