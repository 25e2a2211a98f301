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
    (case
        when {{ _mapped_v4(col) }} <> '' then 4
        when strpos({{ col }}, ':') > 0 then 6
        when {{ _is_v4('trim(' ~ col ~ ')') }} then 4
    end)
{%- endmacro %}

{% macro _hex_groups_to_int(groups) -%}
    list_reduce(list_transform({{ groups }}, lambda g: try_cast('0x' || g as uhugeint)),
                lambda acc, g: (acc << 16) + g, 0::uhugeint)
{%- endmacro %}

{% macro _hex_groups(text) -%}
    (case when {{ text }} = '' then []::varchar[] else string_split({{ text }}, ':') end)
{%- endmacro %}

{% macro ip_to_int(col) -%}
    {%- set s = "lower(regexp_replace(trim(" ~ col ~ "), '%.*$', ''))" -%}
    {%- set left = "(case when strpos(" ~ s ~ ", '::') > 0 then split_part(" ~ s ~ ", '::', 1) else " ~ s ~ " end)" -%}
    {%- set right = "(case when strpos(" ~ s ~ ", '::') > 0 then split_part(" ~ s ~ ", '::', 2) else '' end)" -%}
    (case
        when {{ _mapped_v4(col) }} <> '' then {{ _v4_to_int(_mapped_v4(col)) }}
        when strpos({{ col }}, ':') > 0 then
            case when len({{ _hex_groups(left) }}) + len({{ _hex_groups(right) }}) <= 8 then
                ({{ _hex_groups_to_int(_hex_groups(left)) }}
                    << (16 * (8 - len({{ _hex_groups(left) }})))::uhugeint)
                + {{ _hex_groups_to_int(_hex_groups(right)) }}
            end
        when {{ _is_v4('trim(' ~ col ~ ')') }} then {{ _v4_to_int('trim(' ~ col ~ ')') }}
    end)
{%- endmacro %}
