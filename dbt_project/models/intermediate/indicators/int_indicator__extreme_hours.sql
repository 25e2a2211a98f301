-- extreme_hours: hours no single person sustains. Either the profile's lifetime hours divided
-- by the weeks since sign-up (accounts older than min_account_weeks), or the hours tracked in
-- the last 7 days. Strength from the worse of the two.
{%- set t = 'extreme_hours' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

accounts as (

    select
        night,
        account_id,
        lifetime_hours,
        {{ diff_units('day', "created_at::date", "night") }} / 7e0 as weeks
    from {{ ref('int_accounts__as_of') }}
    where account_type = 'freelancer'

),

week as (

    select
        nights.night,
        s.account_id,
        -- whole seconds: a sum of integers is the same in every run (a sum of doubles can
        -- differ in the last bit with the order, and flip a rounded score)
        sum({{ diff_units('second', "s.started_at", "s.ended_at") }}) / 3600e0 as week_hours
    from nights
    inner join {{ ref('stg_work_sessions') }} as s
        on s.export_date <= nights.night
        and s.session_day between nights.night - 6 and nights.night
        and {{ after_window_start('s.session_day', 6) }}
    group by nights.night, s.account_id

),

measured as (

    select
        accounts.night,
        accounts.account_id,
        accounts.lifetime_hours,
        accounts.weeks,
        case when accounts.weeks >= {{ th(t, 'min_account_weeks') }}
             then accounts.lifetime_hours / accounts.weeks end as lifetime_weekly_hours,
        coalesce(week.week_hours, 0) as week_hours
    from accounts
    left join week on week.night = accounts.night and week.account_id = accounts.account_id

),

scored as (

    select
        *,
        greatest(
            case when week_hours >= {{ th(t, 'week_hours') }}
                 then 0.4 + 0.6 * {{ ramp('week_hours', th(t, 'week_hours'), th(t, 'week_full_hours')) }}
                 else 0 end,
            case when lifetime_weekly_hours >= {{ th(t, 'lifetime_weekly_hours') }}
                 then 0.4 + 0.6 * {{ ramp('lifetime_weekly_hours', th(t, 'lifetime_weekly_hours'), th(t, 'lifetime_full_weekly_hours')) }}
                 else 0 end
        ) as strength
    from measured

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        strength,
        {{ fmt_head("'{:,.0f} h lifetime ({} h/week since sign-up), {:.0f} h tracked in the last 7 days'") }},
               {{ round_half_up('coalesce(lifetime_hours, 0)', 0) }},
               coalesce({{ fmt_head("'{:.0f}'") }}, {{ round_half_up('lifetime_weekly_hours', 0) }}), 'n/a'),
               {{ round_half_up('week_hours', 0) }}) as evidence,
        lifetime_weekly_hours,
        week_hours
    from scored
    where strength > 0

)

select * from final
