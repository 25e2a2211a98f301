-- continuous_presence: tracked work sessions covering at least min_hours of a rolling 24 h
-- window. Overlapping sessions are merged first (two trackers at once count once); the window
-- is anchored at each merged stretch's start, where the maximum is always reached.
{%- set t = 'continuous_presence' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

sessions as (

    select
        nights.night,
        s.account_id,
        s.started_at,
        s.ended_at
    from nights
    inner join {{ ref('stg_work_sessions') }} as s
        on s.export_date <= nights.night
        and s.session_day between nights.night - {{ th(t, 'lookback_days') }} - 1 and nights.night
        and {{ after_window_start('s.session_day', th(t, 'lookback_days') ~ ' + 1') }}

),

ordered as (

    select
        *,
        max(ended_at) over (
            partition by night, account_id order by started_at, ended_at
            rows between unbounded preceding and 1 preceding
        ) as previous_end
    from sessions

),

islanded as (

    select
        *,
        sum(case when previous_end is null or started_at > previous_end then 1 else 0 end) over (
            partition by night, account_id order by started_at, ended_at
            rows unbounded preceding
        ) as island
    from ordered

),

islands as (

    select night, account_id, island, min(started_at) as island_start, max(ended_at) as island_end
    from islanded
    group by night, account_id, island

),

windows as (

    select
        anchor.night,
        anchor.account_id,
        anchor.island_start as window_start,
        sum({{ diff_units('second', "greatest(other.island_start, anchor.island_start)", "least(other.island_end, anchor.island_start + interval 24 hour)") }}) / 3600e0 as hours
    from islands as anchor
    inner join islands as other
        on anchor.night = other.night
        and anchor.account_id = other.account_id
        and other.island_end > anchor.island_start
        and other.island_start < anchor.island_start + interval 24 hour
    where anchor.island_start >= anchor.night - {{ th(t, 'lookback_days') }}
    group by anchor.night, anchor.account_id, anchor.island_start

),

best as (

    select * from windows
    where hours >= {{ th(t, 'min_hours') }}
    qualify row_number() over (partition by night, account_id order by hours desc, window_start) = 1

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        0.4 + 0.6 * {{ ramp('hours', th(t, 'min_hours'), th(t, 'full_hours')) }} as strength,
        {{ fmt_head("'{:.1f} h of tracked sessions in the 24 h from {} UTC'") }},
               {{ round_half_up('hours', 1) }}, {{ ts_text("window_start", 'minute') }}) as evidence,
        hours
    from best

)

select * from final
