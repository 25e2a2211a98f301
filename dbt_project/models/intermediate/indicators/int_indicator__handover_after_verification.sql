-- handover_after_verification: a sharp break right after the account's identity was verified:
-- the person who passed the check (its devices, networks, hours) is no longer seen, someone
-- else works the account (DOJ, Chapman / Didenko, May 2024: accounts created and verified in
-- other people's names, then sold or rented to the workers).
-- Verification time T: the account's first approved identity document, at verified_at (1.1),
-- else at its submitted_at (1.0 exports, or a platform that leaves verified_at empty).
-- Compares the successful logins of before_days before T with those of after_days after T:
--   new devices only   every device seen after T is new, so the old device(s) are gone;
--   new networks only  every login after T is on a network the verified person never used: a
--                      new ASN that is a VPN / hosting / Tor exit (a VPN in the claimed country
--                      too) or in a country none of its logins came from; without an ASN, a new
--                      country. A new home line or carrier in a country already seen is not;
--   hour shift         the circular median UTC hour moved by >= min_hour_shift hours (judged
--                      with min_logins_for_hours logins on each side).
-- Account farms sign up and pass an automated check in one sitting, so one login before T is
-- enough to know the verified person's device and network.
-- Fires on two or three of them with the old devices gone (where devices are unknown, as on
-- exports without device_id, the old networks gone). legit_new_laptop (a new device, the same
-- home network and hours) has one: it does not fire; a traveller keeps its device: no fire.
-- Logins with a null device_id / ip_asn / ip_country are left out of that comparison only.
-- Every account type (a client can be handed over too). A night judges the accounts verified
-- in its last lookback_days, while the after-window fills: it keeps firing for that month.
-- Cost: the window's logins (lookback_days + before_days) of the accounts verified in it, read
-- from int_verification_logins (the logins of unverified accounts and of verification windows,
-- kept as they arrive: about a fifth of all logins), never the whole history; the per-login
-- measures (new networks, median hours) only for the accounts whose old devices (or networks)
-- are gone, the only ones that can fire.
{%- set t = 'handover_after_verification' %}
{%- set span = th(t, 'lookback_days') ~ ' + ' ~ th(t, 'before_days') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

verifications as (

    select
        night,
        account_id,
        document_id,
        coalesce(verified_at, submitted_at) as verified_ts,
        verified_at is null as from_submission
    from {{ ref('int_identity_documents__as_of') }}
    where verification_status = 'approved'
    qualify row_number() over (
        partition by night, account_id order by coalesce(verified_at, submitted_at), document_id
    ) = 1

),

recent as (

    select *
    from verifications
    where verified_ts::date between night - {{ th(t, 'lookback_days') }} and night

),

logins as (

    select
        nights.night,
        l.account_id,
        l.ts,
        l.device_id,
        l.ip_asn,
        l.ip_country,
        l.ip_kind,
        -- a network: its ASN, else its country where the platform gives no ASN
        coalesce('AS' || l.ip_asn::string, l.ip_country) as network,
        hour(l.ts) + minute(l.ts) / 60e0 as utc_hour,
        case when l.ts < recent.verified_ts then 'before' else 'after' end as phase
    from nights
    inner join {{ ref('int_verification_logins') }} as l
        on l.export_date <= nights.night
        and l.login_day between nights.night - ({{ span }}) and nights.night
        and {{ after_window_start('l.login_day', span) }}
    inner join recent
        on recent.night = nights.night and recent.account_id = l.account_id
    where l.success
      and l.ts >= recent.verified_ts - ({{ th(t, 'before_days') }}) * interval 1 day
      and l.ts <= recent.verified_ts + ({{ th(t, 'after_days') }}) * interval 1 day
      and l.ts <> recent.verified_ts

),

sides as (

    select
        night,
        account_id,
        phase,
        count(*) as logins,
        {{ sorted_set_agg('device_id', "device_id is not null") }} as devices,
        {{ sorted_set_agg('network', "network is not null") }} as networks,
        {{ sorted_set_agg('ip_country', "ip_country is not null") }} as countries,
        max(ts) as last_ts
    from logins
    group by night, account_id, phase

),

-- Each verified account's two sides side by side, with enough logins on both, and what changed
-- between them in devices and networks
pairs as (

    select
        b.night,
        b.account_id,
        b.logins as before_logins,
        a.logins as after_logins,
        a.last_ts as after_last_ts,
        b.devices as before_devices,
        a.devices as after_devices,
        b.networks as before_networks,
        a.networks as after_networks,
        b.countries as before_countries,
        {{ list_size('b.devices') }} > 0 and {{ list_size('a.devices') }} > 0 as devices_known,
        {{ list_size('b.devices') }} > 0 and {{ list_size('a.devices') }} > 0
            and not {{ lists_overlap('a.devices', 'b.devices') }} as new_devices_only,
        {{ list_size('b.networks') }} > 0 and {{ list_size('a.networks') }} > 0
            and not {{ lists_overlap('a.networks', 'b.networks') }} as old_networks_gone
    from sides as b
    inner join sides as a
        on a.night = b.night and a.account_id = b.account_id and a.phase = 'after'
    where b.phase = 'before'
      and b.logins >= {{ th(t, 'min_logins_before') }}
      and a.logins >= {{ th(t, 'min_logins_after') }}

),

-- The accounts whose verified person's equipment is gone (its devices; without device data, its
-- networks): the only ones that can fire, so the per-login measures below are taken for them
-- alone (a few in a thousand of the verified accounts)
judgeable as (

    select * from pairs
    where case when devices_known then new_devices_only else old_networks_gone end

),

judged_logins as (

    select logins.*
    from logins
    semi join judgeable as j on j.night = logins.night and j.account_id = logins.account_id

),

-- The logins after T on a network the verified person never used: a new ASN that is an
-- anonymiser (VPN / hosting / Tor) or in a country none of the earlier logins came from (or
-- without a country), or, without an ASN, a new country. A new home line or phone carrier in a
-- country already seen (signed up on the phone, works on the home line) is the same person.
after_networks as (

    select
        a.night,
        a.account_id,
        count(*) filter (where a.network is not null) as with_network,
        count(*) filter (
            where a.network is not null
              and not array_contains(b.before_networks, a.network)
              and (a.ip_kind in ('vpn', 'hosting', 'tor')
                   or a.ip_country is null
                   or not array_contains(b.before_countries, a.ip_country))
        ) as on_new_network
    from judged_logins as a
    inner join judgeable as b on b.night = a.night and b.account_id = a.account_id
    where a.phase = 'after'
    group by a.night, a.account_id

),

-- Circular median hour of each side: the whole hour (0-23) with the smallest summed circular
-- distance to the side's login times (ties: the earliest hour), robust to a few odd logins.
median_hours as (

    select night, account_id, phase, h as median_hour
    from (
        select
            logins.night,
            logins.account_id,
            logins.phase,
            grid.h,
            -- rounded: a parallel sum of doubles differs in the last bit from run to run, and
            -- the hours of a plateau (equal spreads) must tie exactly to fall to the earliest
            round(sum(least(abs(logins.utc_hour - grid.h), 24 - abs(logins.utc_hour - grid.h))), 6) as spread
        from judged_logins as logins
        cross join (select {{ each_integer(0, 23) }} as h) as grid
        group by all
    )
    qualify row_number() over (partition by night, account_id, phase order by spread, h) = 1

),

compared as (

    select
        recent.night,
        recent.account_id,
        recent.document_id,
        recent.verified_ts,
        recent.from_submission,
        p.before_logins,
        p.after_logins,
        p.after_last_ts,
        p.before_devices,
        p.after_devices,
        p.before_networks,
        p.after_networks,
        bh.median_hour as before_hour,
        ah.median_hour as after_hour,
        -- hours are compared only with enough logins on both sides to place a working day
        case when p.before_logins >= {{ th(t, 'min_logins_for_hours') }} and p.after_logins >= {{ th(t, 'min_logins_for_hours') }}
             then least(abs(ah.median_hour - bh.median_hour), 24 - abs(ah.median_hour - bh.median_hour))
        end as hour_shift,
        p.new_devices_only,
        {{ list_size('p.before_networks') }} > 0 and n.with_network > 0
            and n.on_new_network = n.with_network as new_networks_only
    from recent
    inner join judgeable as p on p.night = recent.night and p.account_id = recent.account_id
    inner join after_networks as n
        on n.night = recent.night and n.account_id = recent.account_id
    inner join median_hours as bh
        on bh.night = recent.night and bh.account_id = recent.account_id and bh.phase = 'before'
    inner join median_hours as ah
        on ah.night = recent.night and ah.account_id = recent.account_id and ah.phase = 'after'

),

judged as (

    select
        *,
        coalesce(hour_shift >= {{ th(t, 'min_hour_shift') }}, false) as hours_shifted,
        new_devices_only::int + new_networks_only::int
            + coalesce(hour_shift >= {{ th(t, 'min_hour_shift') }}, false)::int as breaks
    from compared

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        (case when breaks >= 3 then 1.0 else {{ th(t, 'two_breaks_strength') }} end)::double as strength,
        {{ fmt_head("'document {} approved {} ({}); before: {} logins in {} days, devices {}, networks {}, median {}:00 UTC; after: {} logins to {}, devices {}, networks {}, median {}:00 UTC; {}'") }},
               document_id, {{ ts_text("verified_ts", 'minute') }},
               case when from_submission then 'verified_at empty: its submission time' else 'verified_at' end,
               before_logins, {{ th(t, 'before_days') }},
               coalesce(nullif({{ list_text(list_head('before_devices', 5), "','") }}, ''), 'unknown'),
               {{ list_text(list_head('before_networks', 5), "','") }}, lpad(before_hour::string, 2, '0'),
               after_logins, {{ ts_text("after_last_ts", 'date') }},
               coalesce(nullif({{ list_text(list_head('after_devices', 5), "','") }}, ''), 'unknown'),
               {{ list_text(list_head('after_networks', 5), "','") }}, lpad(after_hour::string, 2, '0'),
               concat_ws(', ',
                   case when new_devices_only then 'only new devices (the old ones not seen again)' end,
                   case when new_networks_only then 'only new networks' end,
                   case when hours_shifted then {{ fmt_head("'active hours moved {} h'") }}, hour_shift) end)
        ) as evidence,
        breaks,
        hour_shift,
        new_devices_only,
        new_networks_only
    from judged
    where breaks >= 2  -- and the old equipment gone: judgeable

)

select * from final
