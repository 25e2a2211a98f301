{#- Person names as sorted tokens, comparable across scripts of writing the same name: lower
    case, accents stripped (Díaz = Diaz, Vũ = Vu), letters without a decomposition mapped
    (Đ, Ł, Ø, Æ, Œ, ß, ı), anything else a separator. -#}
{% macro name_tokens(expr) -%}
    {{ return(adapter.dispatch('name_tokens', 'itw_radar')(expr)) }}
{%- endmacro %}

{% macro default__name_tokens(expr) -%}
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
    {{ return(adapter.dispatch('names_compatible', 'itw_radar')(a, b)) }}
{%- endmacro %}

{% macro default__names_compatible(a, b) -%}
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

{#- Spark has no strip_accents: the accented Latin letters of Unicode's Latin-1, Latin
    Extended-A/B and Latin Extended Additional blocks (Vietnamese included) are mapped to their
    base letter, which is what strip_accents does to them. -#}
{% macro spark__name_tokens(expr) -%}
    array_sort(filter(
        split(regexp_replace(
            translate(translate(lower(coalesce({{ expr }}, '')),
                                'àáâãäåçèéêëìíîïñòóôõöùúûüýÿāăąćĉċčďēĕėęěĝğġģĥĩīĭįĵķĺļľńņňōŏőŕŗřśŝşšţťũūŭůűųŵŷźżžơưǎǐǒǔǖǘǚǜǟǡǧǩǫǭǰǵǹǻȁȃȅȇȉȋȍȏȑȓȕȗșțȟȧȩȫȭȯȱȳḁḃḅḇḉḋḍḏḑḓḕḗḙḛḝḟḡḣḥḧḩḫḭḯḱḳḵḷḹḻḽḿṁṃṅṇṉṋṍṏṑṓṕṗṙṛṝṟṡṣṥṧṩṫṭṯṱṳṵṷṹṻṽṿẁẃẅẇẉẋẍẏẑẓẕẖẗẘẙạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ',
                                'aaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyzzzouaiouuuuuaagkoojgnaaaeeiioorruusthaeooooyabbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrsssssttttuuuuuvvwwwwwxxyzzzhtwyaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy'),
                      'đłøæœßı', 'dloaesi'),
            '[^a-z]+', ' '), ' '),
        tok -> tok <> ''))
{%- endmacro %}

{% macro spark__names_compatible(a, b) -%}
    (case when size({{ a }}) <= size({{ b }})
          then {{ _spark_tokens_within(a, b) }}
          else {{ _spark_tokens_within(b, a) }} end)
{%- endmacro %}

{% macro _spark_tokens_within(short, long) -%}
    (size(filter({{ short }}, tok -> length(tok) > 1)) >= 2
     and forall({{ short }}, tok -> exists({{ long }},
         other -> other = tok
             or (length(tok) = 1 and startswith(other, tok))
             or (length(tok) > 1 and {{ jaro_winkler('other', 'tok') }} >= 0.9))))
{%- endmacro %}

{#- Jaro-Winkler similarity of two texts, as DuckDB's jaro_winkler_similarity computes it
    (rapidfuzz): characters match within max(len) / 2 - 1 positions, each character of `b` at
    most once, the first free one; half the matched characters out of order are
    transpositions; a common prefix of up to 4 characters lifts a Jaro similarity above 0.7 by
    0.1 a character. `a` and `b` are columns or lambda variables (each is repeated). -#}
{% macro jaro_winkler(a, b) -%}
    {{ return(adapter.dispatch('jaro_winkler', 'itw_radar')(a, b)) }}
{%- endmacro %}

{% macro default__jaro_winkler(a, b) -%}
    jaro_winkler_similarity({{ a }}, {{ b }})
{%- endmacro %}

{% macro spark__jaro_winkler(a, b) -%}
    {%- set la = 'length(' ~ a ~ ')' -%}
    {%- set lb = 'length(' ~ b ~ ')' -%}
    {%- set reach = 'greatest(greatest(' ~ la ~ ', ' ~ lb ~ ') div 2 - 1, 0)' -%}
    {%- set first_free = 'array_position(transform(sequence(1, ' ~ lb ~ '), jw_k -> not element_at(jw_s.used, jw_k) and abs(jw_k - jw_i) <= ' ~ reach ~ ' and substr(' ~ b ~ ', jw_k, 1) = substr(' ~ a ~ ', jw_i, 1)), true)' -%}
    (case when {{ la }} = 0 or {{ lb }} = 0 then cast(0 as double) else aggregate(
        sequence(1, {{ la }}),
        named_struct('used', array_repeat(false, {{ lb }}), 'm1', cast(array() as array<int>)),
        (jw_s, jw_i) -> case when {{ first_free }} > 0
            then named_struct(
                'used', transform(sequence(1, {{ lb }}), jw_k -> element_at(jw_s.used, jw_k) or jw_k = {{ first_free }}),
                'm1', concat(jw_s.m1, array(jw_i)))
            else jw_s end,
        jw_s -> {{ _spark_jaro_winkler_finish(a, b, la, lb) }}
    ) end)
{%- endmacro %}

{% macro _spark_jaro_winkler_finish(a, b, la, lb) -%}
    {%- set m = 'size(jw_s.m1)' -%}
    {%- set s1 = 'transform(jw_s.m1, jw_p -> substr(' ~ a ~ ', jw_p, 1))' -%}
    {%- set s2 = 'transform(filter(sequence(1, ' ~ lb ~ '), jw_k -> element_at(jw_s.used, jw_k)), jw_k -> substr(' ~ b ~ ', jw_k, 1))' -%}
    {%- set t = '(size(filter(sequence(1, ' ~ m ~ '), jw_p -> element_at(' ~ s1 ~ ', jw_p) <> element_at(' ~ s2 ~ ', jw_p))) div 2)' -%}
    {%- set jaro = '(cast(' ~ m ~ ' as double) / ' ~ la ~ ' + cast(' ~ m ~ ' as double) / ' ~ lb ~ ' + cast(' ~ m ~ ' - ' ~ t ~ ' as double) / ' ~ m ~ ') / 3' -%}
    {%- set most = 'least(4, ' ~ la ~ ', ' ~ lb ~ ')' -%}
    {%- set differs_at = 'array_position(transform(sequence(1, ' ~ most ~ '), jw_p -> substr(' ~ a ~ ', jw_p, 1) <> substr(' ~ b ~ ', jw_p, 1)), true)' -%}
    {%- set prefix = '(case when ' ~ differs_at ~ ' = 0 then ' ~ most ~ ' else ' ~ differs_at ~ ' - 1 end)' -%}
    case when {{ m }} = 0 then cast(0 as double)
         when {{ jaro }} > 0.7 then {{ jaro }} + {{ prefix }} * 0.1 * (1 - {{ jaro }})
         else {{ jaro }} end
{%- endmacro %}
