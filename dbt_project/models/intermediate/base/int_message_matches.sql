-- Messages that count toward a text indicator, with the matching text and its position.
-- off_platform: a `contact` pattern (handle, number, address), or a `request` pattern in a
-- message without a technology mention (`tech`: "Telegram bot", "Discord API").
-- video_avoidance: an `excuse` pattern in a message that does not also offer to hold the video
-- call again (`redo`: "happy to redo on video", "another call tomorrow": an honest mishap).
-- Patterns live in the seed text_patterns.
-- Incremental: each night matches only the messages it delivered.
{{ config(**night_incremental('export_date')) }}

with

messages as (

    select * from {{ ref('stg_messages') }}
    where export_date <= {{ as_of() }}
      and export_date > {{ incremental_bound('export_date') }}

),

patterns as (

    select * from {{ ref('text_patterns') }}

),

matched as (

    -- One branch per pattern with the regex as a constant: DuckDB compiles a constant regex
    -- once, while `join ... on regexp_matches(body, patterns.pattern)` recompiles it for
    -- every (message, pattern) pair (about 800x slower). The seed is read at compile time.
    -- (In a dbt unit test the seed is a CTE, so the slower join below stands in.)
    {%- set pattern_relation = ref('text_patterns') | string %}
    {%- set pats = [] %}
    {%- if execute and not pattern_relation.startswith('__dbt__cte__') %}
        {%- set pats = run_query("select pattern_id, indicator_id, kind, pattern from " ~ ref('text_patterns') ~ " order by pattern_id").rows %}
    {%- endif %}
    {%- for p in pats %}
    select
        messages.message_id,
        messages.thread_id,
        messages.sender_account_id,
        messages.recipient_account_id,
        messages.sent_at,
        messages.message_day,
        messages.body,
        messages.export_date,
        '{{ p[1] }}' as indicator_id,
        '{{ p[2] }}' as kind,
        '{{ p[0] }}' as pattern_id,
        regexp_extract(messages.body, {{ sql_text(p[3]) }}, 0) as match_text
    from messages
    where {{ re_match('messages.body', sql_text(p[3])) }}
    {%- if not loop.last %}
    union all
    {%- endif %}
    {%- endfor %}
    {%- if not pats %}
    select
        messages.message_id, messages.thread_id, messages.sender_account_id,
        messages.recipient_account_id, messages.sent_at, messages.message_day, messages.body,
        messages.export_date, patterns.indicator_id, patterns.kind, patterns.pattern_id,
        regexp_extract(messages.body, patterns.pattern, 0) as match_text
    from messages inner join patterns on {{ re_match('messages.body', 'patterns.pattern') }}
    {%- endif %}

),

per_message as (

    select
        message_id,
        indicator_id,
        bool_or(kind = 'tech') as mentions_technology,
        bool_or(kind = 'redo') as offers_redo
    from matched
    group by message_id, indicator_id

),

counted as (

    select
        matched.*,
        per_message.mentions_technology,
        per_message.offers_redo
    from matched
    inner join per_message using (message_id, indicator_id)
    where (matched.indicator_id = 'off_platform'
           and (matched.kind = 'contact'
                or (matched.kind = 'request' and not per_message.mentions_technology)))
       or (matched.indicator_id = 'video_avoidance' and matched.kind = 'excuse'
           and not per_message.offers_redo)
    qualify row_number() over (
        partition by matched.message_id, matched.indicator_id
        order by case matched.kind when 'contact' then 1 when 'request' then 2 else 3 end,
                 matched.pattern_id
    ) = 1

),

final as (

    select
        message_id,
        indicator_id,
        pattern_id,
        kind,
        thread_id,
        sender_account_id,
        recipient_account_id,
        sent_at,
        message_day,
        body,
        match_text,
        (instr(body, match_text) - 1)::integer as match_start,
        (instr(body, match_text) - 1 + length(match_text))::integer as match_end,
        export_date
    from counted

)

select * from final
