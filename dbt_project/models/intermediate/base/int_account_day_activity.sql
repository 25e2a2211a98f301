-- Running aggregate of activity for foreign_hours: one row per account, UTC day and
-- delivery night, counting the successful logins and work-session starts of that day that the
-- night delivered, and how many of them fall in 23:00-10:00 UTC (the working day of UTC+8..+10;
-- bounds in var indicator_thresholds.foreign_hours). foreign_hours sums 14 days of these rows
-- to find the accounts worth reading whole: about a third as many rows as the window's events.
-- Incremental: a night adds the rows of its own delivery (a re-run replaces them).
{{ config(**night_incremental('export_date')) }}

with

logins as (

    select account_id, login_day as activity_day, export_date, ts
    from {{ ref('stg_logins') }}
    where success
      and export_date <= {{ as_of() }}
      and export_date > {{ incremental_bound('export_date') }}

),

sessions as (

    select account_id, session_day as activity_day, export_date, started_at as ts
    from {{ ref('stg_work_sessions') }}
    where export_date <= {{ as_of() }}
      and export_date > {{ incremental_bound('export_date') }}

),

activity as (

    select * from logins
    union all
    select * from sessions

),

counted as (

    select
        account_id,
        activity_day,
        export_date,
        count(*) as events,
        count(*) filter (where {{ in_asia_working_day('ts') }}) as asia_day_events
    from activity
    group by account_id, activity_day, export_date

)

select * from counted
-- stored in day order, so that a window's activity_day bound skips the older row groups (zone
-- maps) after a first build or a full refresh, which write every night at once
order by activity_day, account_id
