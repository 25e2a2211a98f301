-- concurrent_contracts: tracked time on different contracts at the same moment, beyond what one
-- person can work: one identity holding several jobs that several people do. Each contract's
-- sessions are merged first (two trackers on one contract are not two jobs); a sweep over the
-- merged stretches gives, at every moment, how many contracts were tracked. A stretch of two
-- contracts or more lasting less than min_overlap_minutes is a timer left running while the
-- next client's started, and does not count. Fires when such overlap reaches min_day_hours on
-- min_days days of the window, or when min_concurrent contracts were tracked at once for
-- min_overlap_minutes. Sessions without a contract are not counted. Cost: one ordered pass over
-- the window's sessions; only accounts with two sessions overlapping for min_overlap_minutes
-- are merged and swept (5.6M sessions of 200k accounts: ~6 s on one thread).
{%- set t = 'concurrent_contracts' %}
{%- set days = th(t, 'lookback_days') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

-- a session started the day before the window can run into it
sessions as (

    select
        nights.night,
        s.account_id,
        s.contract_id,
        s.started_at,
        s.ended_at
    from nights
    inner join {{ ref('stg_work_sessions') }} as s
        on s.export_date <= nights.night
        and s.session_day between nights.night - {{ days }} and nights.night
        and {{ after_window_start('s.session_day', days) }}
    where s.contract_id is not null
      and s.ended_at > s.started_at

),

-- accounts with two sessions overlapping for min_overlap_minutes or more: the only ones whose
-- sessions are merged and swept (one ordered pass over the window's sessions). A session that
-- starts before the latest end of the account's earlier sessions overlaps that session; a
-- forgotten timer (a few minutes) or one contract at a time stops here.
candidates as (

    select distinct night, account_id
    from (
        select
            night,
            account_id,
            started_at,
            ended_at,
            max(ended_at) over (
                partition by night, account_id order by started_at, ended_at, contract_id
                rows between unbounded preceding and 1 preceding
            ) as earlier_end
        from sessions
    ) as s
    where earlier_end is not null  -- least() skips a null
      and least(ended_at, earlier_end) >= started_at + interval {{ th(t, 'min_overlap_minutes') }} minute

),

ordered as (

    select
        sessions.*,
        max(ended_at) over (
            partition by night, account_id, contract_id order by started_at, ended_at
            rows between unbounded preceding and 1 preceding
        ) as previous_end
    from sessions
    semi join candidates as c on c.night = sessions.night and c.account_id = sessions.account_id

),

islanded as (

    select
        *,
        sum(case when previous_end is null or started_at > previous_end then 1 else 0 end) over (
            partition by night, account_id, contract_id order by started_at, ended_at
            rows unbounded preceding
        ) as island
    from ordered

),

-- one contract's tracked stretches (its overlapping sessions merged)
stretches as (

    select night, account_id, contract_id, min(started_at) as started_at, max(ended_at) as ended_at
    from islanded
    group by night, account_id, contract_id, island

),

-- accounts with two contracts tracked at some moment: the only ones the sweep needs. A stretch
-- that starts before an earlier-starting stretch of the account has ended overlaps it, and
-- that one is of another contract (one contract's stretches are disjoint): one ordered pass
-- per account, not a join of every pair of its stretches.
overlapping_accounts as (

    select distinct night, account_id
    from (
        select
            night,
            account_id,
            started_at,
            max(ended_at) over (
                partition by night, account_id order by started_at, ended_at, contract_id
                rows between unbounded preceding and 1 preceding
            ) as earlier_end
        from stretches
    ) as s
    where started_at < earlier_end

),

-- +1 when a contract's stretch starts, -1 when it ends; one row per moment (ends and starts
-- at the same moment cancel, so back-to-back sessions never overlap)
events as (

    select night, account_id, moment, sum(delta) as delta
    from (
        select s.night, s.account_id, s.started_at as moment, 1 as delta
        from stretches as s semi join overlapping_accounts as o
            on o.night = s.night and o.account_id = s.account_id
        union all
        select s.night, s.account_id, s.ended_at as moment, -1 as delta
        from stretches as s semi join overlapping_accounts as o
            on o.night = s.night and o.account_id = s.account_id
    ) as e
    group by night, account_id, moment

),

-- from each moment to the next: how many contracts were tracked
segments as (

    select
        night,
        account_id,
        moment as seg_start,
        lead(moment) over (partition by night, account_id order by moment) as seg_end,
        sum(delta) over (partition by night, account_id order by moment rows unbounded preceding) as contracts
    from events

),

-- consecutive segments of 2+ (k = 2) or 3+ (k = 3) contracts: one overlap stretch
flagged as (

    select
        segments.*,
        k.k,
        sum(case when contracts < k.k then 1 else 0 end) over (
            partition by night, account_id, k.k order by seg_start rows unbounded preceding
        ) as run_id
    from segments
    cross join (select 2 as k union all select {{ th(t, 'min_concurrent') }}) as k
    where seg_end is not null

),

overlap_runs as (

    select
        night,
        account_id,
        k,
        min(seg_start) as overlap_start,
        max(seg_end) as overlap_end,
        max(contracts)::integer as max_contracts,
        {{ diff_units('second', "min(seg_start)", "max(seg_end)") }} / 60e0 as minutes
    from flagged
    where contracts >= k
    group by night, account_id, k, run_id
    having {{ diff_units('second', "min(seg_start)", "max(seg_end)") }} >= {{ th(t, 'min_overlap_minutes') }} * 60
       -- counted on the day it starts, inside the window
       and min(seg_start)::date between night - {{ days }} + 1 and night

),

heavy as (

    select night, account_id, count(*) as heavy_days
    from (
        select night, account_id, overlap_start::date as day
        from overlap_runs
        where k = 2
        group by night, account_id, overlap_start::date
        having sum(minutes) / 60e0 >= {{ th(t, 'min_day_hours') }}
    ) as d
    group by night, account_id

),

per_account as (

    select
        o.night,
        o.account_id,
        coalesce(any_value(h.heavy_days), 0) as heavy_days,
        sum(case when o.k = 2 then o.minutes else 0 end) / 60e0 as overlap_hours,
        max(o.max_contracts) as max_contracts,
        sum(case when o.k > 2 then o.minutes else 0 end) / 60e0 as many_hours,
        -- the longest overlap: ties by its start (the same in every run)
        max_by(o.overlap_start, (o.minutes, -{{ epoch_us('o.overlap_start') }})) as longest_start,
        max(o.minutes) as longest_minutes
    from overlap_runs as o
    left join heavy as h on h.night = o.night and h.account_id = o.account_id
    group by o.night, o.account_id

),

fired as (

    select * from per_account
    where heavy_days >= {{ th(t, 'min_days') }}
       or (max_contracts >= {{ th(t, 'min_concurrent') }} and many_hours > 0)

),

-- the contracts tracked during the counted overlap_runs, for the evidence
contracts_named as (

    select
        f.night,
        f.account_id,
        count(distinct s.contract_id) as contracts,
        {{ agg_text("s.contract_id", "', '", "s.contract_id", distinct=true) }} as contract_ids
    from fired as f
    inner join overlap_runs as o
        on o.night = f.night and o.account_id = f.account_id and o.k = 2
    inner join stretches as s
        on s.night = o.night and s.account_id = o.account_id
        and s.started_at < o.overlap_end and o.overlap_start < s.ended_at
    group by f.night, f.account_id

),

final as (

    select
        f.night,
        f.account_id,
        '{{ t }}' as indicator_id,
        greatest(
            case when f.heavy_days >= {{ th(t, 'min_days') }}
                 then 0.5 + 0.5 * {{ ramp('f.heavy_days', th(t, 'min_days'), th(t, 'full_days')) }}
                 else 0 end,
            case when f.max_contracts >= {{ th(t, 'min_concurrent') }} and f.many_hours > 0
                 then 0.6 + 0.4 * {{ ramp('f.many_hours', 0, th(t, 'min_day_hours')) }}
                 else 0 end
        ) as strength,
        {{ fmt_head("'{:.1f} h of tracked time on 2+ contracts at once in {} days ({} day(s) with >= {} h), '") }}
               || 'up to {} contracts at the same moment ({:.1f} h with {}+); longest overlap {:.0f} min from {} UTC; contracts: {}',
               {{ round_half_up('f.overlap_hours', 1) }}, {{ days }}, f.heavy_days, {{ th(t, 'min_day_hours') }},
               f.max_contracts, {{ round_half_up('f.many_hours', 1) }}, {{ th(t, 'min_concurrent') }},
               {{ round_half_up('f.longest_minutes', 0) }},
               {{ ts_text("f.longest_start", 'minute') }}, c.contract_ids) as evidence,
        f.heavy_days,
        f.max_contracts,
        f.overlap_hours
    from fired as f
    inner join contracts_named as c on c.night = f.night and c.account_id = f.account_id

)

select * from final
