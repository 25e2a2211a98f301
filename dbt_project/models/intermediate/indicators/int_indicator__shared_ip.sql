-- shared_ip: one IP used on the same UTC day by more accounts than a household or small-office
-- NAT explains (> nat_accounts), up to max_accounts (beyond: carrier-grade NAT, public Wi-Fi;
-- mobile-carrier IPs are already left out of int_ip_day_accounts). Strength grows with the
-- number of accounts; the largest group of the last days is the evidence. A VPN or Tor exit (as
-- any account's logins saw it) is not such a group: a commercial exit serves strangers (on the
-- 1M-account platform about 20 accounts a day each), and anonymised_ip already weighs the
-- hiding; accounts that move together over exits are the second path's.
-- Second path, accounts moving together: two accounts that log in from the same several
-- addresses on the same days (at least co_travel_min_ips IPs over 2+ networks, one of them a
-- VPN / hosting / Tor exit) within co_travel_lookback_days: one operator or one laptop farm
-- reaching the platform through the same home line, the same VPN exits and the same servers.
-- A household shares its router's one address; a campus shares its NAT; neither shares a
-- series of VPN exits and servers with the same other account day after day.
-- Both paths read the ip-days of two accounts or more as of each night
-- (int_shared_ip_day_accounts): a group needs more than nat_accounts, co-travel another account.
{%- set t = 'shared_ip' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

ip_days as (

    select nights.night, d.ip, d.login_day, d.account_id, d.ip_kind, d.ip_asn
    from nights
    inner join {{ ref('int_shared_ip_day_accounts') }} as d
        on d.shared_night <= nights.night
        and d.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('d.login_day', th(t, 'lookback_days')) }}

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
        -- int_shared_ip_day_accounts holds one row per ip, day and account (its unique test),
        -- and accounts one per night and account: count(*) counts distinct accounts, without
        -- the cost of a distinct aggregate over a full window of a large platform
        count(*) as accounts,
        count(*) filter (where accounts.account_type = 'freelancer') as freelancers
    from ip_days
    left join accounts
        on accounts.night = ip_days.night and accounts.account_id = ip_days.account_id
    group by ip_days.night, ip_days.ip, ip_days.login_day
    having count(*) > {{ th(t, 'nat_accounts') }}
       and count(*) <= {{ th(t, 'max_accounts') }}
       and not coalesce(bool_or(ip_days.ip_kind in ('vpn', 'tor')), false)

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

co_days as (

    select nights.night, d.ip, d.login_day, d.account_id, d.ip_kind, d.ip_asn
    from nights
    inner join {{ ref('int_shared_ip_day_accounts') }} as d
        on d.shared_night <= nights.night
        and d.login_day between nights.night - {{ th(t, 'co_travel_lookback_days') }} and nights.night
        and {{ after_window_start('d.login_day', th(t, 'co_travel_lookback_days')) }}

),

-- ip-days of 2 to max_accounts accounts, their size as of each night from the running
-- int_ip_day_sizes (no row there: one account)
co_day_sizes as (

    select nights.night, s.ip, s.login_day
    from nights
    inner join {{ ref('int_ip_day_sizes') }} as s
        on s.night <= nights.night
        and s.login_day between nights.night - {{ th(t, 'co_travel_lookback_days') }} and nights.night
        and {{ after_window_start('s.login_day', th(t, 'co_travel_lookback_days')) }}
    group by nights.night, s.ip, s.login_day
    having max_by(s.accounts, s.night) between 2 and {{ th(t, 'max_accounts') }}

),

-- Only an account that shares enough IPs (over 2+ networks, one anonymised, as its own logins
-- saw them) with anyone can share them with one other account: the pair join starts from those
-- accounts' shared IP-days (the other side keeps every shared IP-day).
co_shared as (

    select co_days.*
    from co_days
    semi join co_day_sizes as sizes
        on sizes.night = co_days.night and sizes.ip = co_days.ip
        and sizes.login_day = co_days.login_day

),

co_members as (

    select co_shared.*
    from co_shared
    semi join (
        select night, account_id
        from co_shared
        group by night, account_id
        having count(distinct ip) >= {{ th(t, 'co_travel_min_ips') }}
           and count(distinct ip_asn) >= 2
           and count(distinct ip) filter (where ip_kind in ('vpn', 'hosting', 'tor')) >= 1
    ) as movers
        on movers.night = co_shared.night and movers.account_id = co_shared.account_id

),

co_pair_days as (

    select
        a.night,
        a.account_id,
        b.account_id as other_account_id,
        a.ip,
        a.ip_asn,
        a.ip_kind,
        a.login_day
    from co_members as a
    inner join co_shared as b
        on b.night = a.night and b.ip = a.ip and b.login_day = a.login_day
        and b.account_id <> a.account_id

),

-- A pair needs co_travel_min_ips distinct IPs, so at least as many shared IP-days: counting
-- rows first leaves the distinct counts below to the few pairs that can qualify (most pairs of a
-- large platform meet once, on one address).
co_candidates as (

    select night, account_id, other_account_id
    from co_pair_days
    group by night, account_id, other_account_id
    having count(*) >= {{ th(t, 'co_travel_min_ips') }}

),

co_travel_pairs as (

    select
        a.night,
        a.account_id,
        a.other_account_id,
        count(distinct a.ip) as ips,
        count(distinct a.ip_asn) as networks,
        count(distinct a.ip) filter (where a.ip_kind in ('vpn', 'hosting', 'tor')) as anonymised_ips,
        count(distinct a.login_day) as days,
        -- addresses that are not a commercial VPN / Tor exit (or of unknown kind): a home line,
        -- a mobile line, a rented server
        count(distinct a.ip) filter (where coalesce(a.ip_kind, 'unknown') not in ('vpn', 'tor', 'unknown')) as own_ips,
        {{ agg_text("coalesce(a.ip_kind, 'unknown')", "', '", "coalesce(a.ip_kind, 'unknown')", distinct=true) }} as kinds
    from co_pair_days as a
    semi join co_candidates as c
        on c.night = a.night and c.account_id = a.account_id
        and c.other_account_id = a.other_account_id
    group by a.night, a.account_id, a.other_account_id
    having count(distinct a.ip) >= {{ th(t, 'co_travel_min_ips') }}
       and count(distinct a.ip_asn) >= 2
       and count(distinct a.ip) filter (where a.ip_kind in ('vpn', 'hosting', 'tor')) >= 1

),

co_travel as (

    select
        night,
        account_id,
        {{ th(t, 'co_travel_strength') }} as strength,
        {{ fmt_head("'shares {} IPs ({}; {} networks) with {} on {} days in {} days'") }},
               ips, kinds, networks, other_account_id, days, {{ th(t, 'co_travel_lookback_days') }}) as evidence,
        2 as accounts,
        -- met only on commercial VPN / Tor exits: strangers of one VPN provider meet there, and
        -- it is the same habit as anonymised_ip (one sign group, not a second sign)
        case when own_ips = 0 then 'network' end as sign_group
    from co_travel_pairs
    qualify row_number() over (
        partition by night, account_id order by ips desc, days desc, other_account_id
    ) = 1

),

group_hits as (

    select
        night,
        account_id,
        (0.3 + 0.7 * {{ ramp('accounts', th(t, 'nat_accounts'), th(t, 'full_accounts')) }})
            -- a large NAT (campus, coworking) mixes strangers: fades from large_accounts on
            * (1 - (1 - {{ th(t, 'max_accounts_strength') }})
                   * {{ ramp('accounts', th(t, 'large_accounts'), th(t, 'max_accounts')) }}) as strength,
        {{ fmt_head("'IP {} ({}) used by {} accounts ({} freelancers) on {}'") }},
               ip, coalesce(ip_kind, 'unknown kind'), accounts, freelancers,
               {{ ts_text("login_day", 'date') }}) as evidence,
        accounts,
        null::string as sign_group
    from member_groups

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        strength,
        evidence,
        accounts,
        sign_group
    from (
        select * from group_hits
        union all
        select * from co_travel
    )
    qualify row_number() over (
        partition by night, account_id order by strength desc, accounts desc
    ) = 1

)

select * from final
