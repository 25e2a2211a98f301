-- Running aggregate: every pair of device_id and account ever seen in a successful login, with
-- the night that first revealed it. A device that only one account has used cannot be shared;
-- shared_device and the account links read the 30-day device-day rows only for devices with two
-- accounts or more here (a few thousand of a million), instead of grouping every device's rows.
-- Incremental: a night adds the pairs its new int_device_day_accounts rows reveal.
{{ config(**night_incremental('first_seen_night')) }}

with

new_rows as (

    select device_id, account_id, min(first_seen_night) as first_seen_night
    from {{ ref('int_device_day_accounts') }}
    where first_seen_night > {{ incremental_bound('first_seen_night') }}
      and first_seen_night <= {{ as_of() }}
    group by device_id, account_id

)

select * from new_rows
{% if is_incremental() %}
where not exists (
    select 1 from {{ this }} as seen
    where seen.device_id = new_rows.device_id
      and seen.account_id = new_rows.account_id
      and seen.first_seen_night <= {{ incremental_bound('first_seen_night') }}
)
{% endif %}
