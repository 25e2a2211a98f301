-- shared_ip: one IP used on the same UTC day by more accounts than a household or small-office
-- NAT explains (> nat_accounts), up to max_accounts (beyond: carrier-grade NAT, public Wi-Fi;
-- mobile-carrier IPs are already left out of int_ip_day_accounts). Strength grows with the
-- number of accounts; the largest group of the last days is the evidence.
{%- set t = 'shared_ip' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

ip_days as (

    select nights.night, d.*
    from nights
    inner join {{ ref('int_ip_day_accounts') }} as d
        on d.first_seen_night <= nights.night
        and d.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night

),

accounts as (

    select night, account_id, account_type from {{ ref('int_accounts__as_of') }}

),

groups as (

    select
        ip_days.night,
        ip_days.ip,
        ip_days.login_day,
        min(ip_days.ip_kind) as ip_kind,
        count(distinct ip_days.account_id) as accounts,
        count(distinct ip_days.account_id) filter (where accounts.account_type = 'freelancer') as freelancers
    from ip_days
    left join accounts
        on accounts.night = ip_days.night and accounts.account_id = ip_days.account_id
    group by ip_days.night, ip_days.ip, ip_days.login_day
    having count(distinct ip_days.account_id) > {{ th(t, 'nat_accounts') }}
       and count(distinct ip_days.account_id) <= {{ th(t, 'max_accounts') }}

),

member_groups as (

    select
        ip_days.night,
        ip_days.account_id,
        groups.ip,
        groups.login_day,
        groups.ip_kind,
        groups.accounts,
        groups.freelancers
    from groups
    inner join ip_days
        on ip_days.night = groups.night
        and ip_days.ip = groups.ip
        and ip_days.login_day = groups.login_day
    qualify row_number() over (
        partition by ip_days.night, ip_days.account_id
        order by groups.accounts desc, groups.login_day desc, groups.ip
    ) = 1

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        (0.3 + 0.7 * {{ ramp('accounts', th(t, 'nat_accounts'), th(t, 'full_accounts')) }})
            -- a large NAT (campus, coworking) mixes strangers: fades from large_accounts on
            * (1 - (1 - {{ th(t, 'max_accounts_strength') }})
                   * {{ ramp('accounts', th(t, 'large_accounts'), th(t, 'max_accounts')) }}) as strength,
        format('IP {} ({}) used by {} accounts ({} freelancers) on {}',
               ip, coalesce(ip_kind, 'unknown kind'), accounts, freelancers,
               strftime(login_day, '%Y-%m-%d')) as evidence,
        accounts
    from member_groups

)

select * from final
