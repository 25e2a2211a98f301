-- Running aggregate: which accounts logged in successfully with each device_id on each UTC day
-- (one row per device_id, day and account), with the night that first revealed the pair.
-- Incremental: a night adds only the pairs its logins reveal (late logins included).
{{ config(**night_incremental('first_seen_night')) }}

with

logins as (

    select * from {{ ref('stg_logins') }}
    where success
      and export_date <= {{ as_of() }}
      and export_date > {{ incremental_bound('first_seen_night') }}

),

grouped as (

    select
        device_id,
        login_day,
        account_id,
        
        min(export_date) as first_seen_night
    from logins
    where device_id is not null
    group by device_id, login_day, account_id

)

select * from grouped
{% if is_incremental() %}
where not exists (
    select 1 from {{ this }} as seen
    where seen.device_id = grouped.device_id
      and seen.login_day = grouped.login_day
      and seen.account_id = grouped.account_id
      and seen.first_seen_night <= {{ incremental_bound('first_seen_night') }}
      -- the same day can only be stored from a day tonight's rows also cover: read those days
      and seen.login_day >= (select min(login_day) from grouped)
)
{% endif %}
