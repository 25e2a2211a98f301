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

{#- template_text: which texts of `sides` (a relation or CTE with columns `night_col`, text_id,
    account_id, version_date) count on their night: a profile text that is the account's
    version current on it (`profiles`: night, account_id, export_date, as int_accounts__as_of),
    or a letter among the night's current letters (`letters`: template_text_current_letters).
    One rule for int_text_pairs (judging a pair on its found night) and the indicator (keeping
    it on later nights), so that the two cannot drift apart. -#}
{% macro template_text_counting_texts(sides, profiles, letters, night_col='night') -%}
    select s.{{ night_col }}, s.text_id
    from {{ sides }} as s
    inner join {{ profiles }} as p
        on p.night = s.{{ night_col }} and p.account_id = s.account_id
        and p.export_date = s.version_date

    union all

    select s.{{ night_col }}, s.text_id
    from {{ sides }} as s
    inner join {{ letters }} as l on l.night = s.{{ night_col }} and l.text_id = s.text_id
{%- endmacro %}

{#- int_text_shingle_accounts: per shingle of `fresh` (shingle, account_id, first_night), its first
    `keep` accounts by first night, then id, with account_rank = the shingle's count in `counts`
    (shingle, stored) + their place. DuckDB: a top-N aggregate per shingle (min_by with n)
    instead of numbering every user of a shingle with a window, which sorted all of them (tens
    of millions of rows on a large platform's first export: 23 s against 16 s). Spark: the
    window (its min_by takes no n). -#}
{% macro shingle_first_accounts(fresh, counts, keep) -%}
    {{ return(adapter.dispatch('shingle_first_accounts', 'itw_radar')(fresh, counts, keep)) }}
{%- endmacro %}

{% macro default__shingle_first_accounts(fresh, counts, keep) -%}
    select
        f.shingle,
        f.first.account_id,
        f.first.first_night,
        coalesce(c.stored, 0) + f.position as account_rank
    from (
        select shingle, unnest(firsts) as first, generate_subscripts(firsts, 1) as position
        from (
            select
                shingle,
                min_by({'account_id': account_id, 'first_night': first_night},
                       (first_night, account_id), {{ keep }}) as firsts
            from {{ fresh }}
            group by shingle
        ) as firsts
    ) as f
    left join {{ counts }} as c using (shingle)
{%- endmacro %}

{% macro spark__shingle_first_accounts(fresh, counts, keep) -%}
    select
        f.shingle,
        f.account_id,
        f.first_night,
        coalesce(c.stored, 0) + f.position as account_rank
    from (
        select shingle, account_id, first_night,
               row_number() over (partition by shingle order by first_night, account_id) as position
        from {{ fresh }}
    ) as f
    left join {{ counts }} as c using (shingle)
    where f.position <= {{ keep }}
{%- endmacro %}
