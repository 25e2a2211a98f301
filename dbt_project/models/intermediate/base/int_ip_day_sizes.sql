-- Running aggregate: how many accounts used each ip on each UTC day, as known on each night that
-- revealed a new account for it (one row per ip, day and such night), for ip-days of two
-- accounts or more. A window reads each ip-day's latest row up to its night: group sizes from a
-- few rows, instead of counting 30 days of ip, day and account rows every night.
-- Incremental: a night adds the rows of the ip-days its new int_ip_day_accounts rows touch.
{{ config(**night_incremental('night')) }}

with

new_rows as (

    select ip, login_day, first_seen_night as night
    from {{ ref('int_ip_day_accounts') }}
    where first_seen_night > {{ incremental_bound('night') }}
      and first_seen_night <= {{ as_of() }}

),

touched as (

    select distinct ip, login_day, night from new_rows

),

sizes as (

    select
        touched.ip,
        touched.login_day,
        touched.night,
        -- int_ip_day_accounts holds one row per ip, day and account: count(*) counts accounts
        count(*) as accounts
    from touched
    inner join {{ ref('int_ip_day_accounts') }} as d
        on d.ip = touched.ip
        and d.login_day = touched.login_day
        and d.first_seen_night <= touched.night
    group by touched.ip, touched.login_day, touched.night

)

select * from sizes
where accounts >= 2
