-- anonymised_ip: a large share of successful logins through VPN, hosting (VPS) or Tor
-- addresses. Common among privacy-minded users too, so its weight is low: it matters in
-- combination with other signs.
{%- set t = 'anonymised_ip' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

logins as (

    select
        nights.night,
        l.account_id,
        count(*) as logins,
        count(*) filter (where l.ip_kind in ('vpn', 'hosting', 'tor')) as anonymised,
        count(*) filter (where l.ip_kind = 'tor') as tor
    from nights
    inner join {{ ref('stg_logins') }} as l
        on l.export_date <= nights.night
        and l.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
    where l.success
    group by nights.night, l.account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        least(1.0, 0.3 + 0.5 * {{ ramp('anonymised / logins', th(t, 'min_share'), 1.0) }}
                   + 0.2 * {{ ramp('tor', 0, 2) }}) as strength,
        format('{} of {} logins via VPN/hosting/Tor ({} via Tor) in {} days',
               anonymised, logins, tor, {{ th(t, 'lookback_days') }}) as evidence,
        anonymised,
        logins
    from logins
    where logins >= {{ th(t, 'min_logins') }}
      and anonymised >= {{ th(t, 'min_share') }} * logins

)

select * from final
