-- anonymised_ip: a large share of successful logins through VPN, hosting (VPS) or Tor
-- addresses. Common among privacy-minded users too, so its weight is low: it matters in
-- combination with other signs. Stronger (+leak_strength) when the logins that bypass the
-- anonymiser come from residential or mobile networks in another country than the one the
-- profile claims: a privacy-minded user's own line is at home, an operator hiding its
-- location leaks it (the advisories: VPNs / VPS to appear in the claimed country).
{%- set t = 'anonymised_ip' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

accounts as (

    select night, account_id, country
    from {{ ref('int_accounts__as_of') }}

),

-- Accounts with an anonymised login in the window of any night computed: with min_share above
-- 0 no other account can fire, so the window's logins are grouped for these only (27k of the
-- 1M platform's accounts; the others cost one narrow pass).
{%- set lookback = th(t, 'lookback_days') %}
{%- set prefilter = th(t, 'min_share') | float > 0 %}
{%- if prefilter %}
anonymised_accounts as (

    select distinct l.account_id
    from {{ ref('stg_logins') }} as l
    where l.success
      and l.ip_kind in ('vpn', 'hosting', 'tor')
      and l.login_day between (select min(night) from nights) - {{ lookback }}
                          and (select max(night) from nights)
      and {{ after_window_start('l.login_day', lookback) }}

),
{%- endif %}

-- One pass over the window's logins, grouped by account and, for the logins that bypass the
-- anonymiser from a home or mobile network abroad, by that country (null for the rest); the
-- countries are then listed per account without a distinct aggregate over every login.
by_country as (

    select
        nights.night,
        l.account_id,
        case when l.ip_kind in ('residential', 'mobile')
                  and l.ip_country is not null and accounts.country is not null
                  and l.ip_country <> accounts.country
             then l.ip_country end as leak_country,
        count(*) as logins,
        count(*) filter (where l.ip_kind in ('vpn', 'hosting', 'tor')) as anonymised,
        count(*) filter (where l.ip_kind = 'tor') as tor,
        any_value(accounts.country) as claimed_country
    from nights
    inner join {{ ref('stg_logins') }} as l
        on l.export_date <= nights.night
        and l.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('l.login_day', th(t, 'lookback_days')) }}
    left join accounts
        on accounts.night = nights.night and accounts.account_id = l.account_id
    {%- if prefilter %}
    semi join anonymised_accounts as a on a.account_id = l.account_id
    {%- endif %}
    where l.success
    group by all

),

logins as (

    select
        night,
        account_id,
        sum(logins) as logins,
        sum(anonymised) as anonymised,
        sum(tor) as tor,
        coalesce(sum(logins) filter (where leak_country is not null), 0) as leaked,
        {{ agg_text("leak_country", "', '", "leak_country") }} as leak_countries,
        any_value(claimed_country) as claimed_country
    from by_country
    group by night, account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        round(least(1.0, 0.3 + 0.5 * {{ ramp('anonymised / logins', th(t, 'min_share'), 1.0) }}
                   + 0.2 * {{ ramp('tor', 0, 2) }}
                   + case when leaked >= {{ th(t, 'leak_min_logins') }}
                          then {{ th(t, 'leak_strength') }} else 0 end), 4) as strength,
        {{ fmt_head("'{} of {} logins via VPN/hosting/Tor ({} via Tor) in {} days'") }}, anonymised, logins,
               tor, {{ th(t, 'lookback_days') }})
            || case when leaked >= {{ th(t, 'leak_min_logins') }}
                    then {{ fmt_head("'; {} of the others from home/mobile networks in {}, not the claimed {}'") }},
                                leaked, leak_countries, claimed_country)
                    else '' end as evidence,
        anonymised,
        logins,
        leaked
    from logins
    where logins >= {{ th(t, 'min_logins') }}
      and anonymised >= {{ th(t, 'min_share') }} * logins

)

select * from final
