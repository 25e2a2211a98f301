-- Logins of the last 30 nights of every account with an indicator hit in that time: the raw
-- evidence behind network indicators, for the dashboard's account page.

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

)

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
    logins.success
from logins
inner join flagged on flagged.account_id = logins.account_id
