{#- template_text: the cover letters that count on each night of `nights` (a relation or CTE with
    a column night), one row per night and text_id: letters of int_texts available by the night
    and submitted in its lookback_days window; a letter sent twice by one account is one text
    (its latest copy); an account's latest max_letters_per_account distinct letters.
    A letter that counts on a night counted on every earlier night since it became available
    (a later night's window and ranking only drop letters), which lets int_text_pairs judge a
    pair once, on the night its later text became available. -#}
{% macro template_text_current_letters(nights) -%}
    {%- set t = 'template_text' -%}
    {%- set days = th(t, 'lookback_days') -%}
    select night, text_id
    from (
        select n.night, l.account_id, l.text_id, l.text_ref, l.written_at
        from {{ nights }} as n
        inner join {{ ref('int_texts') }} as l
            on l.available_night <= n.night
            and l.submitted_day between n.night - {{ days }} + 1 and n.night
        where l.kind = 'cover letter'
          and {{ after_window_start('l.submitted_day', days) }}
        qualify row_number() over (
            partition by n.night, l.account_id, l.text_hash order by l.written_at desc, l.text_ref
        ) = 1
    ) as distinct_letters
    qualify row_number() over (
        partition by night, account_id order by written_at desc, text_ref
    ) <= {{ th(t, 'max_letters_per_account') }}
{%- endmacro %}
