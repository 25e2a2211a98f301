-- Links between accounts on each night being computed, one row per direction and shared value,
-- for the pairs whose shared identifiers together weigh at least cluster_min_pair_weight (the
-- links that clusters are made of).
--
-- Candidate identifiers: IP addresses used on the same days, at least twice (one address on two
-- days, or two addresses) or on a cloud address few accounts use, or a shared device, in the
-- last cluster_link_lookback_days; a shared payout or payment fingerprint, the same or a
-- near-identical identity document or portrait, the same verification phone. An identifier
-- shared by more than cluster_max_accounts_per_value accounts (carrier-grade NAT, public Wi-Fi,
-- a payment processor) links nobody; for an address that is a day with more accounts, or more
-- accounts sharing it over the window (a commercial VPN exit or a cloud address that strangers
-- meet on, a different few each day). One shared address-day is a chance meeting (a cafe, a
-- hotel, a reassigned home address): on a platform of a million accounts such pairs joined 88%
-- of the accounts into one component.
--
-- Weight by specificity (var cluster_link_weights): an identity document, portrait or payment
-- fingerprint is one person or one money flow, a device one machine (1 each: links alone; a
-- device fingerprint common enough to collide is shared by more than the cap); a verification
-- phone can be a family's or a resold proxy number (0.5); an address (ip_day) that few accounts
-- use (cluster_ip_specific_max_accounts), not an anonymiser, 0.5, or 1 when the pair met there
-- on cluster_ip_persistent_days days or more (a household, an office, a laptop farm: the same
-- small group on one line day after day); an address of a kind that strangers share (vpn,
-- hosting, tor, mobile: commercial exits, rented servers, carrier NAT) or that more accounts
-- met on in the window, only cluster_ip_weak_weight (0.25) - unless nobody but the pair used
-- it in the window (cluster_ip_private_max_accounts) and they met there on
-- cluster_ip_persistent_days days: a private server or line (1). A pair is linked when the
-- weights of its distinct identifiers add up to cluster_min_pair_weight (1): one strong
-- identifier, or two independent weaker ones (a phone and the home line, two home lines, four
-- exits, ...). An independent evaluation found one cluster of 89 accounts, several operations
-- and look-alikes chained through VPN and cloud exits that each met on once or twice: such an
-- address now weighs 0.25 and joins nobody by itself.
--
-- Why this has the power of community detection here: a cluster is a connected component of
-- the pairs that reach the threshold, so a part joined to the rest only by weak pairs (a
-- bridge through a shared exit) is cut off, while the members of an operation, who share
-- documents, payouts, devices, phones and several addresses, stay tied by strong pairs or by
-- pairs where weak identifiers add up. Unlike modularity or label propagation over weights it
-- needs no iteration over the weights, gives the same clusters whatever the order of the rows
-- (semi-naive propagation in int_account_clusters stays as it is), and says for every link why
-- it counts (weight, pair_weight).
{%- set cap = var('cluster_max_accounts_per_value') %}
{%- set w = var('cluster_link_weights') %}
{%- set weak_kinds = "('" ~ var('cluster_ip_weak_kinds') | join("', '") ~ "')" %}

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
    having max_by(s.accounts, s.night) between 2 and {{ cap }}

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

    select m.night, m.link_value, m.login_day, m.account_id, m.ip_kind, v.accounts
    from ip_members as m
    inner join (
        select night, link_value, count(distinct account_id) as accounts
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
        coalesce(bool_or(a.ip_kind = 'hosting' or b.ip_kind = 'hosting'), false) as hosting,
        -- an address of a kind strangers share, as either account's logins saw it
        coalesce(bool_or(lower(a.ip_kind) in {{ weak_kinds }}
            or lower(b.ip_kind) in {{ weak_kinds }}), false) as weak_kind,
        max(a.accounts) as accounts  -- accounts that met on the address in the window
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

-- candidates: the addresses of pairs that met twice, or met on a cloud address that few
-- accounts use (a private server or remote desktop host); ip_links weighs each, and only pairs
-- whose identifiers add up to cluster_min_pair_weight are kept (pairs, below)
ip_candidates as (

    select night, account_id, linked_account_id, link_value, days, weak_kind, accounts
    from ip_pair_addresses
    where days >= 2 or hosting
    union all
    select p.night, p.account_id, p.linked_account_id, p.link_value, p.days, p.weak_kind,
        p.accounts
    from ip_pair_addresses as p
    semi join ip_pairs_met_twice as t
        on t.night = p.night and t.account_id = p.account_id
        and t.linked_account_id = p.linked_account_id
    where p.days < 2 and not p.hosting

),

ip_links as (

    select
        night, account_id, linked_account_id, 'ip_day' as link_type, link_value,
        case
            when days >= {{ var('cluster_ip_persistent_days') }}
                and accounts <= {{ var('cluster_ip_private_max_accounts') }}
                then {{ var('cluster_ip_persistent_weight') }}
            when weak_kind or accounts > {{ var('cluster_ip_specific_max_accounts') }}
                then {{ var('cluster_ip_weak_weight') }}
            when days >= {{ var('cluster_ip_persistent_days') }}
                then {{ var('cluster_ip_persistent_weight') }}
            else {{ w['ip_day'] }}
        end as weight
    from ip_candidates

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
        a.link_value,
        {% if kind == 'fingerprint' -%}
        {{ w['payment_fingerprint'] }}
        {%- else -%}
        {{ w[kind] }}
        {%- endif %} as weight
    from {{ kind }}_groups as g
    inner join {{ kind }}_members as a
        on a.night = g.night and a.link_value = g.link_value
    inner join {{ kind }}_members as b
        on b.night = g.night and b.link_value = g.link_value and b.account_id <> a.account_id

),
{%- endfor %}

document_links as (

    select
        night, account_id, linked_account_id, link_type, link_value,
        case link_type
            {%- for link_type in ['document_number', 'face_phash', 'image_phash'] %}
            when '{{ link_type }}' then {{ w[link_type] }}
            {%- endfor %}
            else {{ w['document_number'] }}
        end as weight
    from {{ ref('int_document_pairs') }}

),

unioned as (

    select distinct night, account_id, linked_account_id, link_type, link_value, weight
    from (
        select * from ip_links
        union all select * from device_links
        union all select * from fingerprint_links
        union all select * from phone_links
        union all select * from document_links
    ) as u

),

-- the evidence of each pair: the weights of its distinct identifiers added up (both directions
-- of a pair see the same identifiers, so they agree)
pairs as (

    select night, account_id, linked_account_id, sum(weight) as pair_weight
    from unioned
    group by night, account_id, linked_account_id
    having sum(weight) >= {{ var('cluster_min_pair_weight') }}

)

select
    u.night,
    u.account_id,
    u.linked_account_id,
    u.link_type,
    u.link_value,
    u.weight::double as weight,
    round(p.pair_weight, 4)::double as pair_weight
from unioned as u
inner join pairs as p
    on p.night = u.night and p.account_id = u.account_id
    and p.linked_account_id = u.linked_account_id
