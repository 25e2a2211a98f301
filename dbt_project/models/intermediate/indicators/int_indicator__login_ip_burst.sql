-- login_ip_burst: successful logins to one account from several IPs in different networks or
-- countries within window_minutes. Every login opens a window; the busiest window of the last
-- days (late logins included) is the evidence. Failed logins are left out: many IPs failing
-- to log in is an attack on the account, not its operators.
{%- set t = 'login_ip_burst' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

-- Only an account with enough IPs, networks or countries over the whole lookback can have a
-- window with them: a narrow pass over the lookback (no timestamps) names those few accounts,
-- and only their logins are read whole for the self-join below.
busy as (

    select nights.night, logins.account_id
    from nights
    inner join {{ ref('stg_logins') }} as logins
        on logins.export_date <= nights.night
        and logins.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('logins.login_day', th(t, 'lookback_days')) }}
    where logins.success
    group by nights.night, logins.account_id
    having count(distinct logins.ip) >= {{ th(t, 'min_ips') }}
       and (count(distinct logins.ip_asn) >= {{ th(t, 'min_networks') }}
            or count(distinct logins.ip_country) >= {{ th(t, 'min_countries') }})

),

candidates as (

    select
        nights.night,
        logins.account_id,
        logins.ts,
        logins.ip,
        logins.ip_country,
        logins.ip_asn
    from nights
    inner join {{ ref('stg_logins') }} as logins
        on logins.export_date <= nights.night
        and logins.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('logins.login_day', th(t, 'lookback_days')) }}
    semi join busy on busy.night = nights.night and busy.account_id = logins.account_id
    where logins.success

),

-- A window needs min_ips distinct IPs, so at least min_ips logins: only a login followed by
-- that many within window_minutes (itself included) can open one. A running count over each
-- account's sorted logins finds them (2,160 of 2.6M candidate logins on the 1M platform).
starts as (

    select * from candidates
    qualify count(*) over (
        partition by night, account_id order by ts
        range between current row and interval {{ th(t, 'window_minutes') }} minute following
    ) >= {{ th(t, 'min_ips') }}

),

windows as (

    select
        a.night,
        a.account_id,
        a.ts as window_start,
        count(distinct b.ip) as ips,
        count(distinct b.ip_country) as countries,
        count(distinct b.ip_asn) as networks,
        {{ diff_units('minute', "min(b.ts)", "max(b.ts)") }} as minutes
    from starts as a
    inner join candidates as b
        on a.night = b.night
        and a.account_id = b.account_id
        and b.ts >= a.ts
        and b.ts < a.ts + interval {{ th(t, 'window_minutes') }} minute
    group by a.night, a.account_id, a.ts

),

bursts as (

    select * from windows
    where ips >= {{ th(t, 'min_ips') }}
      and (networks >= {{ th(t, 'min_networks') }} or countries >= {{ th(t, 'min_countries') }})
    qualify row_number() over (
        partition by night, account_id order by ips desc, countries desc, networks desc, window_start
    ) = 1

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        least(1.0, 0.4
            + 0.4 * {{ ramp('ips', th(t, 'min_ips'), th(t, 'min_ips') ~ ' + 5') }}
            + 0.2 * {{ ramp('countries', 1, 3) }}) as strength,
        {{ fmt_head("'{} IPs in {} countries / {} networks within {} min ({} UTC)'") }},
               ips, countries, networks, greatest(minutes, 1),
               {{ ts_text("window_start", 'minute') }}) as evidence,
        ips,
        countries,
        networks
    from bursts

)

select * from final
