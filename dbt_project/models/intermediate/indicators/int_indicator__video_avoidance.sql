-- video_avoidance: a pattern, not a mishap. Fires when requested video interviews were held as
-- text or voice, with the camera off, or missed by the freelancer (no-show; cancellations do
-- not count) at least min_avoided times and in at least min_share of the requests; or when
-- every requested video interview of the window (even a single one) was avoided AND the
-- freelancer sent an excuse asking to go on without video ("mic not detected, can you type the
-- questions?"; an apology offering to redo the call on video is not an excuse, see
-- int_message_matches); or on min_excuses excuse messages. One bad day without an excuse, or
-- one avoided interview among several held on video, does not fire.
{%- set t = 'video_avoidance' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

interviews as (

    select
        nights.night,
        i.freelancer_account_id as account_id,
        count(*) as video_requested,
        count(*) filter (where i.held_mode in ('text', 'voice')
                            or (i.held_mode = 'video' and i.camera_on = false)
                            or (i.held_mode = 'none' and i.outcome = 'no_show')) as avoided
    from nights
    inner join {{ ref('stg_interviews') }} as i
        on i.export_date <= nights.night
        and i.interview_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('i.interview_day', th(t, 'lookback_days')) }}
    where i.requested_mode = 'video'
      and i.outcome <> 'cancelled'
    group by nights.night, i.freelancer_account_id

),

excuses as (

    select
        nights.night,
        m.sender_account_id as account_id,
        count(*) as excuse_messages,
        min(m.match_text) as example
    from nights
    inner join {{ ref('int_message_matches') }} as m
        on m.export_date <= nights.night
        and m.message_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('m.message_day', th(t, 'lookback_days')) }}
    where m.indicator_id = '{{ t }}'
    group by nights.night, m.sender_account_id

),

combined as (

    select
        coalesce(interviews.night, excuses.night) as night,
        coalesce(interviews.account_id, excuses.account_id) as account_id,
        coalesce(interviews.video_requested, 0) as video_requested,
        coalesce(interviews.avoided, 0) as avoided,
        coalesce(excuses.excuse_messages, 0) as excuse_messages,
        excuses.example
    from interviews
    full outer join excuses
        on excuses.night = interviews.night and excuses.account_id = interviews.account_id

),

flagged as (

    select
        *,
        (avoided >= {{ th(t, 'min_avoided') }}
            and avoided >= {{ th(t, 'min_share') }} * video_requested) as interview_pattern,
        excuse_messages >= {{ th(t, 'min_excuses') }} as excuse_pattern,
        -- the only requested video interview(s) avoided, with an excuse for it
        (avoided >= 1 and avoided = video_requested
            and excuse_messages >= 1) as excused_avoidance
    from combined

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        round(least(1.0,
            case when interview_pattern
                 then 0.4 + 0.3 * {{ ramp('avoided', th(t, 'min_avoided'), th(t, 'full_avoided')) }}
                          + 0.3 * {{ ramp('avoided / video_requested', th(t, 'min_share'), 1.0) }}
                 when excused_avoidance then {{ th(t, 'excused_avoidance_strength') }}
                 else 0 end
            + case when excuse_pattern then 0.5
                   when excuse_messages > 0 then 0.15
                   else 0 end), 4) as strength,
        concat_ws('; ',
            case when video_requested > 0 then {{ fmt_head("'{} of {} requested video interviews held as text/voice, camera off or missed ({} days)'") }},
                avoided, video_requested, {{ th(t, 'lookback_days') }}) end,
            case when excuse_messages > 0 then {{ fmt_head("'{} excuse message(s), e.g. \"{}\"'") }}, excuse_messages, example) end
        ) as evidence,
        avoided,
        video_requested,
        excuse_messages
    from flagged
    where interview_pattern or excuse_pattern or excused_avoidance

)

select * from final
