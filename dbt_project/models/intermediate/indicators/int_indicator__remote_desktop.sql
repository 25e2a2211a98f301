-- remote_desktop: remote-desktop or remote-control tools seen by the time tracker in a large
-- share of work sessions (an occasional remote session for IT support does not fire).
{%- set t = 'remote_desktop' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

sessions as (

    select
        nights.night,
        s.account_id,
        count(*) as sessions,
        count(*) filter (where s.remote_desktop_detected) as remote_sessions
    from nights
    inner join {{ ref('stg_work_sessions') }} as s
        on s.export_date <= nights.night
        and s.session_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('s.session_day', th(t, 'lookback_days')) }}
    group by nights.night, s.account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        0.4 + 0.6 * {{ ramp('remote_sessions / sessions', th(t, 'min_share'), 0.9) }} as strength,
        {{ fmt_head("'remote-control tool seen in {} of {} work sessions ({} days)'") }},
               remote_sessions, sessions, {{ th(t, 'lookback_days') }}) as evidence,
        remote_sessions,
        sessions
    from sessions
    where remote_sessions >= {{ th(t, 'min_sessions') }}
      and remote_sessions >= {{ th(t, 'min_share') }} * sessions

)

select * from final
