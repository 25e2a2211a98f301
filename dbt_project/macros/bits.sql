{#- 64-bit perceptual hashes (int_document_version_pairs). DuckDB keeps them as UBIGINT; Spark
    has no unsigned type, so there a hash is the BIGINT with the same 64 bits (two's
    complement). Bytes, XOR and bit counts come out the same on both. -#}

{#- A 16-digit hex text as a 64-bit number. -#}
{% macro hex_to_u64(hex) -%}
    {{ return(adapter.dispatch('hex_to_u64', 'itw_radar')(hex)) }}
{%- endmacro %}
{% macro default__hex_to_u64(hex) -%}('0x' || {{ hex }})::ubigint{%- endmacro %}
{% macro spark__hex_to_u64(hex) -%}
    cast(case when cast(conv({{ hex }}, 16, 10) as decimal(20, 0)) >= 9223372036854775808
              then cast(conv({{ hex }}, 16, 10) as decimal(20, 0)) - 18446744073709551616
              else cast(conv({{ hex }}, 16, 10) as decimal(20, 0)) end as bigint)
{%- endmacro %}

{#- Byte number `k` (0 = lowest; an SQL expression) of a 64-bit hash, 0-255. -#}
{% macro u64_byte(v, k) -%}
    {{ return(adapter.dispatch('u64_byte', 'itw_radar')(v, k)) }}
{%- endmacro %}
{% macro default__u64_byte(v, k) -%}(({{ v }} >> (8 * ({{ k }}))::ubigint) & 255::ubigint){%- endmacro %}
{% macro spark__u64_byte(v, k) -%}cast(shiftrightunsigned({{ v }}, 8 * ({{ k }})) & 255 as int){%- endmacro %}

{#- Number of bits in which two 64-bit hashes differ. -#}
{% macro bits_differing(a, b) -%}
    {{ return(adapter.dispatch('bits_differing', 'itw_radar')(a, b)) }}
{%- endmacro %}
{% macro default__bits_differing(a, b) -%}bit_count(xor({{ a }}, {{ b }})){%- endmacro %}
{% macro spark__bits_differing(a, b) -%}bit_count({{ a }} ^ {{ b }}){%- endmacro %}

{#- A band key: the set number and two bytes, as one integer. -#}
{% macro band_key(set_id, hi, lo) -%}
    {{ return(adapter.dispatch('band_key', 'itw_radar')(set_id, hi, lo)) }}
{%- endmacro %}
{% macro default__band_key(set_id, hi, lo) -%}
    ({{ set_id }} << 16) | (({{ hi }} << 8::ubigint) | {{ lo }})::uinteger
{%- endmacro %}
{% macro spark__band_key(set_id, hi, lo) -%}
    (cast({{ set_id }} as int) * 65536 + {{ hi }} * 256 + {{ lo }})
{%- endmacro %}
