-- Logins of the last 30 nights of every account with an indicator hit in that time: the raw
-- evidence behind network indicators, for the dashboard's account page.
-- Incremental, as a difference: the rows are immutable (one delivery per login, stg_logins),
-- so a night inserts the window's rows not yet stored (tonight's logins, and the whole window of
-- a newly flagged account), and the post-hook deletes the stored rows that left the window (a
-- day past 30 nights, an account without a hit in them, a delivery after the night). Stored and
-- rebuilt tables hold the same rows, and a night writes its change, not 30 nights of logins.
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook="
        delete from {{ this }} as stored
        where stored.login_day not between {{ as_of() }} - 29 and {{ as_of() }}
           or stored.export_date > {{ as_of() }}
           or stored.account_id not in (
               select account_id from {{ ref('account_indicator_hits') }}
               where as_of_date between {{ as_of() }} - 29 and {{ as_of() }})"
) }}

with

flagged as (

    select distinct account_id
    from {{ ref('account_indicator_hits') }}
    where as_of_date between {{ as_of() }} - 29 and {{ as_of() }}

),

logins as (

    select * from {{ ref('stg_logins') }}
    where login_day between {{ as_of() }} - 29 and {{ as_of() }}
      and export_date <= {{ as_of() }}

),

evidence as (

    select
        logins.account_id,
        logins.login_id,
        logins.ts,
        logins.ip,
        logins.ip_country,
        logins.ip_asn,
        logins.ip_kind,
        logins.device_id,
        logins.user_agent,
        logins.success,
        logins.login_day,
        logins.export_date
    from logins
    inner join flagged on flagged.account_id = logins.account_id

)

select * from evidence
{% if is_incremental() %}
where not exists (select 1 from {{ this }} as stored where stored.login_id = evidence.login_id)
{% endif %}
