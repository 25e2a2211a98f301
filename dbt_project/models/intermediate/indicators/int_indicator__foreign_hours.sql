-- foreign_hours: activity (successful logins and work-session starts) concentrated in
-- 23:00-10:00 UTC, the 09-18 working day anywhere from UTC+8 (PRC) to UTC+10 (Russia's Far
-- East; the 2022 advisory places DPRK IT workers mainly in the PRC and Russia), with a large share of it
-- in the late evening and night (21:00-06:00) of the claimed time zone: the Americas' evening
-- and night, Europe's small hours; daytime (no hit) for East / South-East Asian or Australian
-- profiles. Early risers (a European working 05-13 local) stay under the night share.
-- Only accounts whose logins appear to come from their claimed country (or hide behind VPN /
-- hosting / Tor): someone visibly abroad (logins from foreign residential or mobile networks,
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

-- The accounts that can fire on a night: enough events, and the share of them in the UTC+8..+10
-- working day (the UTC hour alone: no time zone, no join), summed from the window's rows of the
-- running per-account-day counts (int_account_day_activity: about a third as many rows as the
-- events, 15M against 48M in 14 days of the 1M-account platform). The same counts as below, so
-- the same accounts; the rest of the model reads the window's events for these only.
candidate_counts as (

    select
        nights.night,
        a.account_id,
        a.events,
        a.asia_day_events
    from nights
    inner join {{ ref('int_account_day_activity') }} as a
        on a.export_date <= nights.night
        and a.activity_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('a.activity_day', th(t, 'lookback_days')) }}

),

candidates as (

    select night, account_id
    from candidate_counts
    group by night, account_id
    having sum(events) >= {{ th(t, 'min_events') }}
       and sum(asia_day_events) / sum(events) >= {{ th(t, 'min_asia_share') }}

),

logins as (

    select nights.night, l.account_id, l.ts, l.ip_country, l.ip_kind
    from nights
    inner join {{ ref('stg_logins') }} as l
        on l.export_date <= nights.night
        and l.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('l.login_day', th(t, 'lookback_days')) }}
    semi join candidates as c on c.night = nights.night and c.account_id = l.account_id
    where l.success

),

sessions as (

    select nights.night, s.account_id, s.started_at as ts
    from nights
    inner join {{ ref('stg_work_sessions') }} as s
        on s.export_date <= nights.night
        and s.session_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('s.session_day', th(t, 'lookback_days')) }}
    semi join candidates as c on c.night = nights.night and c.account_id = s.account_id

),

activity as (

    select night, account_id, ts, ip_country, ip_kind, true as is_login from logins
    union all
    select night, account_id, ts, null, null, false from sessions

),

-- The local hour of an event comes from a table of 15-minute UTC slots per time zone: every
-- UTC offset and every daylight-saving change falls on a quarter hour, so all instants of a
-- slot share one local hour. A time-zone conversion per zone and slot (a few hundred thousand),
-- not per event (tens of millions in a large platform's 14 days); an event outside the table's
-- span (none expected) is converted itself.
zones as (

    select distinct timezone from accounts

),

span as (

    select
        (min(night) - {{ th(t, 'lookback_days') }} - 2)::timestamp as first_slot,
        (max(night) + 2)::timestamp as last_slot
    from nights

),

slots as (

    select
        zones.timezone,
        {{ idiv(epoch_us('s.slot'), '900000000') }} as slot_id,
        {{ local_hour('s.slot', 'zones.timezone') }} as local_hour
    from zones
    cross join (
        select {{ each_step('first_slot', 'last_slot', 'interval 15 minute') }} as slot
        from span
    ) as s

),

hours as (

    select
        activity.night,
        activity.account_id,
        accounts.timezone,
        count(*) as events,
        -- the same condition as the candidates' (in_asia_working_day), so the same counts
        count(*) filter (where {{ in_asia_working_day('activity.ts') }}) as asia_day_events,
        count(*) filter (where coalesce(slots.local_hour, {{ local_hour('activity.ts', 'accounts.timezone') }}) >= {{ th(t, 'local_night_start') }}
                            or coalesce(slots.local_hour, {{ local_hour('activity.ts', 'accounts.timezone') }}) < {{ th(t, 'local_night_end') }}) as local_night_events,
        -- where the logins come from, in the same pass
        count(*) filter (where activity.is_login) as logins,
        count(*) filter (where activity.is_login
                            and activity.ip_country is not null
                            and activity.ip_country <> accounts.country
                            and activity.ip_kind in ('residential', 'mobile')) as abroad_logins
    from activity
    inner join accounts
        on accounts.night = activity.night and accounts.account_id = activity.account_id
    left join slots
        on slots.timezone = accounts.timezone
        and slots.slot_id = {{ idiv(epoch_us('activity.ts'), '900000000') }}
    group by activity.night, activity.account_id, accounts.timezone

),

measured as (

    select
        hours.*,
        asia_day_events / events as asia_share,
        local_night_events / events as local_night_share,
        coalesce(abroad_logins / nullif(logins, 0), 0) as abroad_share
    from hours
    where events >= {{ th(t, 'min_events') }}

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        round((0.4 + 0.6 * {{ ramp('local_night_share', th(t, 'min_local_night_share'), th(t, 'full_local_night_share')) }})
            * (1 - abroad_share), 4) as strength,
        {{ fmt_head("'{:.0f}% of {} logins/sessions in {:02d}-{:02d} UTC (UTC+8..+10 working day); {:.0f}% fall in {:02d}-{:02d} {}'") }},
               {{ round_half_up('100 * asia_share', 0) }}, events, {{ th(t, 'asia_day_start_utc') }}, {{ th(t, 'asia_day_end_utc') }},
               {{ round_half_up('100 * local_night_share', 0) }}, {{ th(t, 'local_night_start') }}, {{ th(t, 'local_night_end') }},
               timezone) as evidence,
        asia_share,
        local_night_share,
        abroad_share
    from measured
    where asia_share >= {{ th(t, 'min_asia_share') }}
      and local_night_share >= {{ th(t, 'min_local_night_share') }}
      and abroad_share < 0.5

)

select * from final
