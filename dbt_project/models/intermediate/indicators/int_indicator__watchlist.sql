-- watchlist: a hit on an analyst-managed list (itw_radar.watchlists; stg_watchlist_entries).
-- An entry counts on a night when it is not expired by then (expires_at after the night's date);
-- removed entries never reach the warehouse. Matched, per night and account:
--   ip_cidr   a successful login in the window from an address inside the range (v4 or v6,
--             compared as numbers: macro ip_to_int)
--   asn       a successful login in the window from that autonomous system
--   device_id a successful login in the window from that device
--   email_domain  the account's e-mail domain, or a subdomain of it, as known on the night
--   email_hash / phone_hash  the account's hashes as known on the night
--   payment_fingerprint  a payment method of the account with that fingerprint
--   wallet_address  a crypto_wallet payment method whose fingerprint is the address as written
--             or the SHA-256 hex of the lower-cased address
-- Failed logins do not count: anyone can fail to log in to someone else's account.
-- Strength 1 for an entry naming one identifier; broad_strength for an ASN or an e-mail domain
-- (whole networks and mail providers hold bystanders). Evidence names each entry, its source
-- and the matching row.
{%- set t = 'watchlist' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

entries as (

    select nights.night, e.*
    from nights
    inner join {{ ref('stg_watchlist_entries') }} as e
        on e.expires_at is null or e.expires_at::date > nights.night

),

-- Each kind of login entry reads the window's successful logins on its own, joined at once to
-- its entries (a hash join on the ASN, the device, the matched address): the nights that list
-- none of that kind read no login at all, and no copy of the window is kept (30 nights of a
-- 1M-account platform hold 90M logins).
range_entries as (

    select * from entries where list_type = 'ip_cidr'

),

-- the first octets an IPv4 range entry covers (at most 256)
v4_octets as (

    select distinct {{ each_integer(ip_v4_first_octet('ip_lo'), ip_v4_first_octet('ip_hi')) }} as octet
    from range_entries
    where ip_family = 4

),

-- what a login's address must start with to fall in some range: a dotted IPv4 address its
-- first octet and a dot; any address with ':' when an IPv6 range is listed, or when an IPv4
-- range is (an IPv4-mapped address, '::ffff:a.b.c.d')
prefixes as (

    select cast(octet as string) || '.' as prefix, 'dotted' as kind from v4_octets
    union all
    select distinct cast(null as string), case when ip_family = 6 then 'v6' else 'mapped' end
    from range_entries

),

-- The window's successful logins that can fall in a range entry, read in one pass: a prefix
-- test per login (string equality on a few characters) instead of a distinct over the window's
-- addresses (a 1M-account platform's 30 days hold tens of millions of logins, a listed range a
-- few hundred of them)
range_logins as (

    select n.night, l.login_id, l.account_id, l.ts, l.ip
    from (select distinct night from range_entries) as n
    inner join {{ ref('stg_logins') }} as l
        on l.export_date <= n.night
        and l.login_day between n.night - {{ th(t, 'lookback_days') }} and n.night
        and {{ after_window_start('l.login_day', th(t, 'lookback_days')) }}
    semi join prefixes as p
        on (p.kind = 'dotted' and {{ starts_with('ltrim(l.ip)', 'p.prefix') }})
        or (p.kind = 'v6' and instr(l.ip, ':') > 0)
        or (p.kind = 'mapped' and instr(l.ip, ':') > 0 and instr(l.ip, '.') > 0)
    where l.success

),

-- each distinct candidate address as a number: parsing is done once per address
addresses as (

    select ip, {{ ip_family('ip') }} as ip_family, {{ ip_to_int('ip') }} as ip_int
    from (select distinct ip from range_logins) as distinct_ips

),

-- the addresses inside some range (on some night; the night is matched below)
matched_addresses as (

    select distinct a.ip, a.ip_family, a.ip_int
    from addresses as a
    inner join range_entries as e
        on e.ip_family = a.ip_family
        and a.ip_int between e.ip_lo and e.ip_hi

),

ip_hits as (

    select
        l.night, l.account_id, e.entry_id, e.list_type, e.value, e.source,
        {{ fmt_head("'login {} at {} from {}'") }}, l.login_id, {{ ts_text("l.ts", 'minute') }}, l.ip) as matched,
        l.ts as matched_at
    from range_logins as l
    inner join matched_addresses as a on a.ip = l.ip
    inner join range_entries as e
        on e.night = l.night
        and e.ip_family = a.ip_family
        and a.ip_int between e.ip_lo and e.ip_hi

),

{#- an ASN or a device entry: the logins of the window from it (kind, join, evidence) -#}
{%- set login_kinds = [
    ('asn', 'l.ip_asn = e.asn', fmt_head("'login {} at {} from AS{} ({})'") ~ ", l.login_id, " ~ ts_text('l.ts', 'minute') ~ ", l.ip_asn, l.ip)"),
    ('device_id', 'l.device_id = e.value', fmt_head("'login {} at {} from device {}'") ~ ", l.login_id, " ~ ts_text('l.ts', 'minute') ~ ", l.device_id)"),
] %}
{%- for kind, match, matched in login_kinds %}

{{ kind }}_hits as (

    select
        e.night, l.account_id, e.entry_id, e.list_type, e.value, e.source,
        {{ matched }} as matched,
        l.ts as matched_at
    from (select * from entries where list_type = '{{ kind }}') as e
    inner join {{ ref('stg_logins') }} as l
        on {{ match }}
        and l.export_date <= e.night
        and l.login_day between e.night - {{ th(t, 'lookback_days') }} and e.night
        and {{ after_window_start('l.login_day', th(t, 'lookback_days')) }}
    where l.success

),
{%- endfor %}

account_hits as (

    select
        a.night, a.account_id, e.entry_id, e.list_type, e.value, e.source,
        case e.list_type
            when 'email_domain' then {{ fmt_head("'account e-mail domain {}'") }}, lower(a.email_domain))
            when 'email_hash' then 'account e-mail hash'
            else 'account phone hash'
        end as matched,
        null::timestamp as matched_at
    from {{ ref('int_accounts__as_of') }} as a
    inner join entries as e
        on e.night = a.night
        and ((e.list_type = 'email_domain'
              and (lower(a.email_domain) = e.value or lower(a.email_domain) like '%.' || e.value))
             or (e.list_type = 'email_hash' and lower(a.email_hash) = e.value)
             or (e.list_type = 'phone_hash' and lower(a.phone_hash) = e.value))

),

payment_hits as (

    select
        pm.night, pm.account_id, e.entry_id, e.list_type, e.value, e.source,
        {{ fmt_head("'{} payment method {}{}'") }}, pm.method_type, pm.payment_method_id,
               case when pm.is_active then '' else ' (inactive)' end) as matched,
        null::timestamp as matched_at
    from {{ ref('int_payment_methods__as_of') }} as pm
    inner join entries as e
        on e.night = pm.night
        and ((e.list_type = 'payment_fingerprint' and pm.fingerprint = e.value)
             or (e.list_type = 'wallet_address' and pm.method_type = 'crypto_wallet'
                 and (pm.fingerprint = e.value or lower(pm.fingerprint) = e.wallet_sha256)))

),

hits as (

    select * from ip_hits
    union all select * from asn_hits
    union all select * from device_id_hits
    union all select * from account_hits
    union all select * from payment_hits

),

per_entry as (

    select
        night,
        account_id,
        entry_id,
        list_type,
        case when list_type in ('ip_cidr', 'asn', 'email_domain') then value
             else left(value, 12) || '…' end as shown_value,
        any_value(source) as source,
        count(*) as matches,
        max_by(matched, coalesce(matched_at, timestamp '1900-01-01')) as last_match,
        case when list_type in ('asn', 'email_domain') then {{ th(t, 'broad_strength') }} else 1.0 end as entry_strength
    from hits
    group by all

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        max(entry_strength)::double as strength,
        {%- set entry_text %}{{ fmt_head("'watchlist entry {} ({} {}; source: {}): {} match{}, latest {}'") }}, entry_id, list_type, shown_value, case when length(source) > 160 then left(source, 157) || '...' else source end, matches, case when matches = 1 then '' else 'es' end, last_match){% endset %}
        {{ agg_text(entry_text, "' | '", "entry_strength desc, entry_id") }} as evidence,
        count(*) as entries_hit,
        {{ list_agg('entry_id', order_by='entry_id') }} as entry_ids
    from per_entry
    group by night, account_id

)

select * from final
