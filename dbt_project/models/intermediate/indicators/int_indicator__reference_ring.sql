-- reference_ring: referrals (accounts.referred_by_account_id) and high reviews flowing between
-- accounts that share infrastructure: one operator vouching for his own personas. Generalises
-- self_rating (a client paying with its freelancer's payout account) to any two accounts,
-- clients or freelancers, and to referrals. A tie counts when the two accounts share an IP
-- address on min_ip_days days or more of the last ip_lookback_days days, a device, a payment
-- or payout fingerprint, or a verification phone; an identifier of more than
-- max_accounts_per_value accounts (carrier NAT, kiosk, payment processor) links nobody.
-- Friends who refer and review each other from their own homes, machines and bank accounts
-- share none of these. Both accounts of a tie are scored; strength grows with the number of
-- such ties around the account (its own and its partners': a ring, not a pair).
{%- set t = 'reference_ring' %}
{%- set cap = th(t, 'max_accounts_per_value') %}
{%- set ip_days = th(t, 'ip_lookback_days') %}
{%- set review_days = th(t, 'review_lookback_days') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

referrals as (

    select night, account_id as a, referred_by_account_id as b, 'referral' as kind, null as review_id, null::double as rating
    from {{ ref('int_accounts__as_of') }}
    where referred_by_account_id is not null
      and referred_by_account_id <> account_id

),

reviews as (

    select nights.night, r.reviewer_account_id as a, r.reviewee_account_id as b, 'review' as kind, r.review_id, r.rating
    from nights
    inner join {{ ref('stg_reviews') }} as r
        on r.export_date <= nights.night
        and r.review_day between nights.night - {{ review_days }} and nights.night
        and {{ after_window_start('r.review_day', review_days) }}
    where r.rating >= {{ th(t, 'min_rating') }}
      and r.reviewer_account_id <> r.reviewee_account_id

),

-- one row per unordered pair of accounts: what flowed between them
ties as (

    select
        night,
        least(a, b) as a,
        greatest(a, b) as b,
        count(*) filter (where kind = 'referral') as referrals,
        count(*) filter (where kind = 'review') as reviews,
        min(review_id) as example_review,
        max(rating) as best_rating
    from (select * from referrals union all select * from reviews) as flows
    group by night, least(a, b), greatest(a, b)

),

tie_accounts as (

    select night, a as account_id from ties
    union
    select night, b as account_id from ties

),

-- shared IP addresses: the tie accounts' ip-days in the window, without ip-days of more than
-- cap accounts (size as of the night; no size row: one account)
ip_rows as (

    select nights.night, d.ip, d.login_day, d.account_id
    from nights
    inner join {{ ref('int_ip_day_accounts') }} as d
        on d.first_seen_night <= nights.night
        and d.login_day between nights.night - {{ ip_days }} and nights.night
        and {{ after_window_start('d.login_day', ip_days) }}
    semi join tie_accounts as ta on ta.night = nights.night and ta.account_id = d.account_id

),

ip_day_sizes as (

    select nights.night, s.ip, s.login_day, max_by(s.accounts, s.night) as accounts
    from nights
    inner join {{ ref('int_ip_day_sizes') }} as s
        on s.night <= nights.night
        and s.login_day between nights.night - {{ ip_days }} and nights.night
        and {{ after_window_start('s.login_day', ip_days) }}
    semi join ip_rows as r on r.night = nights.night and r.ip = s.ip and r.login_day = s.login_day
    group by nights.night, s.ip, s.login_day

),

ip_shared as (

    select
        ties.night,
        ties.a,
        ties.b,
        count(distinct ra.login_day) as days,
        min(ra.ip) as value
    from ties
    inner join ip_rows as ra on ra.night = ties.night and ra.account_id = ties.a
    inner join ip_rows as rb
        on rb.night = ties.night and rb.account_id = ties.b
        and rb.ip = ra.ip and rb.login_day = ra.login_day
    anti join ip_day_sizes as big
        on big.night = ra.night and big.ip = ra.ip and big.login_day = ra.login_day
        and big.accounts > {{ cap }}
    group by ties.night, ties.a, ties.b
    having count(distinct ra.login_day) >= {{ th(t, 'min_ip_days') }}

),

-- devices, payment / payout fingerprints and phones of the tie accounts, with how many
-- accounts use each (as of the night)
devices as (

    select nights.night, d.device_id as value, d.account_id
    from nights
    inner join {{ ref('int_device_accounts') }} as d on d.first_seen_night <= nights.night

),

fingerprints as (

    select distinct night, fingerprint as value, account_id
    from {{ ref('int_payment_methods__as_of') }}
    where fingerprint is not null

),

phones as (

    select night, phone_hash as value, account_id
    from {{ ref('int_accounts__as_of') }}
    where phone_hash is not null

),

{%- for kind in ['device', 'fingerprint', 'phone'] %}
{%- set rel = {'device': 'devices', 'fingerprint': 'fingerprints', 'phone': 'phones'}[kind] %}

{{ kind }}_values as (

    select v.night, v.value, v.account_id
    from {{ rel }} as v
    semi join tie_accounts as ta on ta.night = v.night and ta.account_id = v.account_id

),

-- values of few accounts only (counted over every account, not only the tie accounts)
{{ kind }}_kept as (

    select v.night, v.value
    from {{ rel }} as v
    semi join {{ kind }}_values as tv on tv.night = v.night and tv.value = v.value
    group by v.night, v.value
    having count(distinct v.account_id) between 2 and {{ cap }}

),

{{ kind }}_shared as (

    select ties.night, ties.a, ties.b, min(va.value) as value
    from ties
    inner join {{ kind }}_values as va on va.night = ties.night and va.account_id = ties.a
    inner join {{ kind }}_values as vb
        on vb.night = ties.night and vb.account_id = ties.b and vb.value = va.value
    semi join {{ kind }}_kept as k on k.night = va.night and k.value = va.value
    group by ties.night, ties.a, ties.b

),
{%- endfor %}

-- the ties that share infrastructure, with what they share
infra_ties as (

    select
        ties.*,
        ip.days as ip_days,
        ip.value as ip,
        dev.value as device_id,
        fp.value as fingerprint,
        ph.value as phone_hash,
        -- a money or machine link is one person or one flow more surely than a line (a
        -- household shares its router): the strongest link sets the base strength
        case when fp.value is not null then 0.7
             when dev.value is not null or ph.value is not null then 0.5
             else {{ th(t, 'ip_only_strength') }} end as base_strength
    from ties
    left join ip_shared as ip on ip.night = ties.night and ip.a = ties.a and ip.b = ties.b
    left join device_shared as dev on dev.night = ties.night and dev.a = ties.a and dev.b = ties.b
    left join fingerprint_shared as fp on fp.night = ties.night and fp.a = ties.a and fp.b = ties.b
    left join phone_shared as ph on ph.night = ties.night and ph.a = ties.a and ph.b = ties.b
    where ip.a is not null or dev.a is not null or fp.a is not null or ph.a is not null

),

-- each tie seen from both of its accounts
directed as (

    select night, a as account_id, b as partner_id, a || '|' || b as tie_key, {{ all_but('night, a, b') }}
    from infra_ties
    union all
    select night, b as account_id, a as partner_id, a || '|' || b as tie_key, {{ all_but('night, a, b') }}
    from infra_ties

),

-- the ring around an account: its ties and its partners' ties
ring as (

    select m.night, m.account_id, count(distinct d.tie_key) as ring_ties
    from (
        select night, account_id, account_id as member from directed
        union
        select night, account_id, partner_id as member from directed
    ) as m
    inner join directed as d on d.night = m.night and d.account_id = m.member
    group by m.night, m.account_id

),

per_account as (

    select
        d.night,
        d.account_id,
        count(*) as ties,
        max(d.base_strength) as base_strength,
        bool_or(d.fingerprint is not null or d.device_id is not null or d.phone_hash is not null) as beyond_a_line,
        {{ agg_text("d.partner_id", "', '", "d.partner_id") }} as partners,
        -- the strongest tie for the evidence (ties by partner id: the same in every run)
        max_by(
            {{ fmt_head("'{} with {}: shares {}'") }},
                   concat_ws(' and ',
                             case when d.referrals > 0 then 'a referral' end,
                             case when d.reviews > 0 then {{ fmt_head("'{} review(s) up to {:.1f} (e.g. {})'") }}, d.reviews, {{ round_half_up('d.best_rating', 1) }}, d.example_review) end),
                   d.partner_id,
                   concat_ws(', ',
                             case when d.fingerprint is not null then {{ fmt_head("'payment fingerprint {}...'") }}, left(d.fingerprint, 8)) end,
                             case when d.device_id is not null then {{ fmt_head("'device {}'") }}, d.device_id) end,
                             case when d.phone_hash is not null then {{ fmt_head("'phone {}...'") }}, left(d.phone_hash, 8)) end,
                             case when d.ip is not null then {{ fmt_head("'IP {} on {} days'") }}, d.ip, d.ip_days) end)),
            (d.base_strength, d.partner_id)
        ) as example
    from directed as d
    group by d.night, d.account_id

),

final as (

    select
        p.night,
        p.account_id,
        '{{ t }}' as indicator_id,
        least(1.0, p.base_strength + 0.3 * {{ ramp('r.ring_ties', 1, th(t, 'full_ties')) }}) as strength,
        {{ fmt_head("'{} referral/review tie(s) with accounts it shares infrastructure with ({}); {} such tie(s) in its ring; e.g. {}'") }},
               p.ties, p.partners, r.ring_ties, p.example) as evidence,
        p.ties,
        r.ring_ties,
        -- ties through a shared line only: colleagues on an agency's office line and housemates
        -- refer and review each other; the line is shared_ip's fact (sign group co_location),
        -- so the two together are one sign, not two
        case when not p.beyond_a_line then 'co_location' end as sign_group
    from per_account as p
    inner join ring as r on r.night = p.night and r.account_id = p.account_id

)

select * from final
