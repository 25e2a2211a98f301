-- off_platform: messages asking to move the conversation (or payment) to a messenger or a
-- personal address. Mentions of the technologies themselves ("I built a Telegram bot") do not
-- count (see int_message_matches and the seed text_patterns).
{%- set t = 'off_platform' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

requests as (

    select
        nights.night,
        m.sender_account_id as account_id,
        count(*) as messages,
        count(distinct m.recipient_account_id) as recipients,
        -- the earliest; messages sent in the same second: the first by id (same in every run)
        min_by(m.match_text, (m.sent_at, m.message_id)) as example
    from nights
    inner join {{ ref('int_message_matches') }} as m
        on m.export_date <= nights.night
        and m.message_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('m.message_day', th(t, 'lookback_days')) }}
    where m.indicator_id = '{{ t }}'
    group by nights.night, m.sender_account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        0.5 + 0.5 * {{ ramp('messages', 1, th(t, 'full_messages')) }} as strength,
        {{ fmt_head("'{} message(s) to {} account(s) asking to move off-platform, e.g. \"{}\"'") }},
               messages, recipients, example) as evidence,
        messages
    from requests

)

select * from final
