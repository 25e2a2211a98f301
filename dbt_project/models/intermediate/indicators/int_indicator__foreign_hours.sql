-- foreign_hours: activity (successful logins and work-session starts) concentrated in
-- 00:00-09:00 UTC, the working day of UTC+8/+9, while that is night in the claimed time zone,
-- by an account whose logins appear to come from its claimed country (or hide behind VPN /
-- hosting / Tor). Someone visibly abroad (logins from foreign residential or mobile networks,
-- e.g. a travelling nomad) is not judged against the claimed zone.
{%- set t = 'foreign_hours' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

accounts as (

    select night, account_id, country, timezone
    from {{ ref('int_accounts__as_of') }}
    where timezone is not null

),

logins as (

    select nights.night, l.account_id, l.ts, l.ip_country, l.ip_kind
    from nights
    inner join {{ ref('stg_logins') }} as l
        on l.export_date <= nights.night
        and l.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
    where l.success

),

sessions as (

    select nights.night, s.account_id, s.started_at as ts
    from nights
    inner join {{ ref('stg_work_sessions') }} as s
        on s.export_date <= nights.night
        and s.session_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night

),

activity as (

    select night, account_id, ts from logins
    union all
    select night, account_id, ts from sessions

),

hours as (

    select
        activity.night,
        activity.account_id,
        accounts.timezone,
        count(*) as events,
        count(*) filter (where hour(activity.ts) < 9) as asia_day_events,
        count(*) filter (where hour(timezone(accounts.timezone, activity.ts)) >= 22
                            or hour(timezone(accounts.timezone, activity.ts)) < 6) as local_night_events
    from activity
    inner join accounts
        on accounts.night = activity.night and accounts.account_id = activity.account_id
    group by activity.night, activity.account_id, accounts.timezone

),

presence as (

    select
        logins.night,
        logins.account_id,
        count(*) as logins,
        count(*) filter (where logins.ip_country is not null
                            and logins.ip_country <> accounts.country
                            and logins.ip_kind in ('residential', 'mobile')) as abroad_logins
    from logins
    inner join accounts
        on accounts.night = logins.night and accounts.account_id = logins.account_id
    group by logins.night, logins.account_id

),

measured as (

    select
        hours.*,
        asia_day_events / events as asia_share,
        local_night_events / events as local_night_share,
        coalesce(presence.abroad_logins / nullif(presence.logins, 0), 0) as abroad_share
    from hours
    left join presence
        on presence.night = hours.night and presence.account_id = hours.account_id
    where hours.events >= {{ th(t, 'min_events') }}

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        (0.4 + 0.6 * {{ ramp('local_night_share', th(t, 'min_local_night_share'), 0.85) }})
            * (1 - abroad_share) as strength,
        format('{:.0f}% of {} logins/sessions in 00-09 UTC (UTC+9 working day); {:.0f}% fall in 22-06 {}',
               100 * asia_share, events, 100 * local_night_share, timezone) as evidence,
        asia_share,
        local_night_share,
        abroad_share
    from measured
    where asia_share >= {{ th(t, 'min_asia_share') }}
      and local_night_share >= {{ th(t, 'min_local_night_share') }}
      and abroad_share < 0.5

)

select * from final
