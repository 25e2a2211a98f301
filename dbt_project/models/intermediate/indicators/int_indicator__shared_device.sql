-- shared_device: one device fingerprint used by several accounts in the window. Two accounts
-- (a couple sharing a laptop) is weak evidence; more than max_accounts looks like an internet
-- café or kiosk and is ignored.
{%- set t = 'shared_device' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

shared_devices as (

    {{ shared_devices() }}

),

device_days as (

    select nights.night, d.device_id, d.account_id
    from nights
    inner join {{ ref('int_device_day_accounts') }} as d
        on d.first_seen_night <= nights.night
        and d.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('d.login_day', th(t, 'lookback_days')) }}
    semi join shared_devices as s on s.device_id = d.device_id

),

devices as (

    select night, device_id, count(distinct account_id) as accounts
    from device_days
    group by night, device_id
    having count(distinct account_id) >= 2
       and count(distinct account_id) <= {{ th(t, 'max_accounts') }}

),

member_devices as (

    select distinct device_days.night, device_days.account_id, devices.device_id, devices.accounts
    from devices
    inner join device_days
        on device_days.night = devices.night and device_days.device_id = devices.device_id
    qualify row_number() over (
        partition by device_days.night, device_days.account_id
        order by devices.accounts desc, devices.device_id
    ) = 1

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        case when accounts <= {{ th(t, 'household_accounts') }} then 0.3
             else 0.5 + 0.5 * {{ ramp('accounts', th(t, 'household_accounts'), th(t, 'full_accounts')) }}
        end as strength,
        {{ fmt_head("'device {} used by {} accounts in {} days'") }}, device_id, accounts,
               {{ th(t, 'lookback_days') }}) as evidence,
        accounts
    from member_devices

)

select * from final
