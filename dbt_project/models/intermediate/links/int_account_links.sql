-- Links between accounts on each night being computed, one row per direction: IP addresses
-- used on the same days, at least twice (one address on two days, or two addresses) or on a
-- cloud address few accounts use, or a shared device, in the last cluster_link_lookback_days;
-- a shared payout or payment fingerprint, the same or a near-identical identity document or
-- portrait, the same verification phone. An identifier shared by more than
-- cluster_max_accounts_per_value accounts (carrier-grade NAT, public Wi-Fi, a payment
-- processor) links nobody; for an address that is a day with more accounts, or more accounts
-- sharing it over the window (a commercial VPN exit or a cloud address that strangers meet on,
-- a different few each day). One shared address-day is a chance meeting (a cafe, a hotel, a
-- reassigned home address): on a platform of a million accounts such pairs joined 88% of the
-- accounts into one component. A household, an office or a cell shares its line day after
-- day, a cell that moves together shares several addresses, and a private server (a VPS, a
-- remote desktop host) is not rented by strangers.
{%- set cap = var('cluster_max_accounts_per_value') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

-- ip-days of 2 to cap accounts in the window, their size as of each night from the running
-- int_ip_day_sizes (no row there: one account)
ip_groups as (

    select nights.night, s.ip as link_value, s.login_day
    from nights
    inner join {{ ref('int_ip_day_sizes') }} as s
        on s.night <= nights.night
        and s.login_day between nights.night - {{ var('cluster_link_lookback_days') }} and nights.night
        and {{ after_window_start('s.login_day', var('cluster_link_lookback_days')) }}
    group by nights.night, s.ip, s.login_day
    having arg_max(s.accounts, s.night) between 2 and {{ cap }}

),

-- their members, from the rows of ip-days shared (two accounts or more) as of each night
ip_members as (

    select nights.night, d.ip as link_value, d.login_day, d.account_id, d.ip_kind
    from nights
    inner join {{ ref('int_shared_ip_day_accounts') }} as d
        on d.shared_night <= nights.night
        and d.login_day between nights.night - {{ var('cluster_link_lookback_days') }} and nights.night
        and {{ after_window_start('d.login_day', var('cluster_link_lookback_days')) }}
    semi join ip_groups as g
        on g.night = nights.night and g.link_value = d.ip and g.login_day = d.login_day

),

-- the members of the addresses that at most cap accounts shared (on its shared days) in the
-- window
ip_kept as (

    select m.night, m.link_value, m.login_day, m.account_id, m.ip_kind
    from ip_members as m
    semi join (
        select night, link_value
        from ip_members
        group by night, link_value
        having count(distinct account_id) <= {{ cap }}
    ) as v on v.night = m.night and v.link_value = m.link_value

),

ip_pair_addresses as (

    select
        a.night,
        a.account_id,
        b.account_id as linked_account_id,
        a.link_value,
        count(*) as days,  -- the members are unique per address and day
        -- a cloud address as either account's logins saw it: both directions of a pair agree
        coalesce(bool_or(a.ip_kind = 'hosting' or b.ip_kind = 'hosting'), false) as hosting
    from ip_kept as a
    inner join ip_kept as b
        on b.night = a.night and b.link_value = a.link_value and b.login_day = a.login_day
        and b.account_id <> a.account_id
    group by a.night, a.account_id, b.account_id, a.link_value

),

-- pairs that met twice: one address on two days, or two addresses (a grouping, not a window
-- over the pairs' addresses: on the 1M-account platform 4.3M rows, 0.5-0.9 s less)
ip_pairs_met_twice as (

    select night, account_id, linked_account_id
    from ip_pair_addresses
    group by night, account_id, linked_account_id
    having sum(days) >= 2

),

-- the addresses of pairs that met twice, or met on a cloud address that few accounts use (a
-- private server or remote desktop host: strangers do not rent one)
ip_links as (

    select night, account_id, linked_account_id, 'ip_day' as link_type, link_value
    from ip_pair_addresses
    where days >= 2 or hosting
    union all
    select p.night, p.account_id, p.linked_account_id, 'ip_day' as link_type, p.link_value
    from ip_pair_addresses as p
    semi join ip_pairs_met_twice as t
        on t.night = p.night and t.account_id = p.account_id
        and t.linked_account_id = p.linked_account_id
    where p.days < 2 and not p.hosting

),

shared_devices as (

    {{ shared_devices() }}

),

device_members as (

    select distinct nights.night, d.device_id as link_value, d.account_id
    from nights
    inner join {{ ref('int_device_day_accounts') }} as d
        on d.first_seen_night <= nights.night
        and d.login_day between nights.night - {{ var('cluster_link_lookback_days') }} and nights.night
        and {{ after_window_start('d.login_day', var('cluster_link_lookback_days')) }}
    semi join shared_devices as s on s.device_id = d.device_id

),

fingerprint_members as (

    select distinct pm.night, pm.fingerprint as link_value, pm.account_id, a.account_type
    from {{ ref('int_payment_methods__as_of') }} as pm
    inner join {{ ref('int_accounts__as_of') }} as a
        on a.night = pm.night and a.account_id = pm.account_id

),

phone_members as (

    select night, phone_hash as link_value, account_id
    from {{ ref('int_accounts__as_of') }}
    where phone_hash is not null

),

{%- for kind in ['device', 'fingerprint', 'phone'] %}

{{ kind }}_groups as (

    select night, link_value
    from {{ kind }}_members
    group by night, link_value
    having count(distinct account_id) between 2 and {{ cap }}

),

{{ kind }}_links as (

    select distinct
        a.night,
        a.account_id,
        b.account_id as linked_account_id,
        {% if kind == 'fingerprint' -%}
        case when a.account_type = 'freelancer' and b.account_type = 'freelancer'
             then 'payout_fingerprint' else 'payment_fingerprint' end
        {%- else -%}
        '{{ kind }}'
        {%- endif %} as link_type,
        a.link_value
    from {{ kind }}_groups as g
    inner join {{ kind }}_members as a
        on a.night = g.night and a.link_value = g.link_value
    inner join {{ kind }}_members as b
        on b.night = g.night and b.link_value = g.link_value and b.account_id <> a.account_id

),
{%- endfor %}

document_links as (

    select night, account_id, linked_account_id, link_type, link_value
    from {{ ref('int_document_pairs') }}

),

unioned as (

    select * from ip_links
    union all select * from device_links
    union all select * from fingerprint_links
    union all select * from phone_links
    union all select * from document_links

)

select distinct night, account_id, linked_account_id, link_type, link_value
from unioned
