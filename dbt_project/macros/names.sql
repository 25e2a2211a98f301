{#- Person names as sorted tokens, comparable across scripts of writing the same name: lower
    case, accents stripped (Díaz = Diaz, Vũ = Vu), letters without a decomposition mapped
    (Đ, Ł, Ø, Æ, Œ, ß, ı), anything else a separator. -#}
{% macro name_tokens(expr) -%}
    list_sort(list_filter(
        string_split(regexp_replace(
            translate(lower(strip_accents(coalesce({{ expr }}, ''))), 'đłøæœßı', 'dloaesi'),
            '[^a-z]+', ' ', 'g'), ' '),
        lambda tok: tok <> ''))
{%- endmacro %}

{#- Whether two token lists (name_tokens) can name the same person: every token of the shorter
    name matches a token of the longer one (the same word, a close spelling with Jaro-Winkler
    >= 0.9, or an initial: "Paula C. Diaz" and "Paula Castro Diaz"), and at least two of them
    are whole words. A payout account often shows a middle initial or drops a second surname. -#}
{% macro names_compatible(a, b) -%}
    (case when len({{ a }}) <= len({{ b }})
          then {{ _tokens_within(a, b) }}
          else {{ _tokens_within(b, a) }} end)
{%- endmacro %}

{% macro _tokens_within(short, long) -%}
    (len(list_filter({{ short }}, lambda tok: length(tok) > 1)) >= 2
     and list_bool_and(list_transform({{ short }}, lambda tok: list_bool_or(list_transform({{ long }},
         lambda other: other = tok
             or (length(tok) = 1 and starts_with(other, tok))
             or (length(tok) > 1 and jaro_winkler_similarity(other, tok) >= 0.9))))))
{%- endmacro %}
