-- Running aggregate: which accounts logged in successfully with each ip on each UTC day
-- (one row per ip, day and account), with the night that first revealed the pair.
-- Incremental: a night adds only the pairs its logins reveal (late logins included).
{{ config(**night_incremental('first_seen_night')) }}

with

logins as (

    select * from {{ ref('stg_logins') }}
    where success
      and export_date <= {{ as_of() }}
      and export_date > {{ incremental_bound('first_seen_night') }}

),

-- The kind, country and network of a stored row are those of the night that first revealed
-- it: a later night's late logins for the same ip, day and account do not change a row that
-- earlier nights have already read, and a rebuild, which sees every delivery at once, must
-- give the same row (it takes the first night's logins only, like the nightly path).
per_night as (

    select
        ip,
        login_day,
        account_id,
        export_date,
        min(ip_kind) as ip_kind,
        min(ip_country) as ip_country,
        min(ip_asn) as ip_asn
    from logins
    where ip_kind is distinct from 'mobile'
    group by ip, login_day, account_id, export_date

),

grouped as (

    select
        ip,
        login_day,
        account_id,
        {{ arg_min_null('ip_kind', 'export_date') }} as ip_kind,  -- one row per export_date: no ties;
        {{ arg_min_null('ip_country', 'export_date') }} as ip_country,  -- _null: a null of the first
        {{ arg_min_null('ip_asn', 'export_date') }} as ip_asn,  -- night stays null
        min(export_date) as first_seen_night
    from per_night
    group by ip, login_day, account_id

)

select * from grouped
{% if is_incremental() %}
where not exists (
    select 1 from {{ this }} as seen
    where seen.ip = grouped.ip
      and seen.login_day = grouped.login_day
      and seen.account_id = grouped.account_id
      and seen.first_seen_night <= {{ incremental_bound('first_seen_night') }}
      -- the same day can only be stored from a day tonight's rows also cover: read those days
      and seen.login_day >= (select min(login_day) from grouped)
)
{% endif %}
