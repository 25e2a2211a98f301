-- Accounts per night and tier; new_accounts: those that entered the tier that night (a new
-- account, or another tier the night before).
{{ config(**night_incremental('as_of_date')) }}

with

risk as (

    select night, account_id, risk_tier from {{ ref('int_account_risk') }}

),

accounts as (

    select night, account_id, first_seen_night from {{ ref('int_accounts__as_of') }}

),

previous as (

    select as_of_date + 1 as night, account_id, risk_tier
    from {{ ref('account_score_history') }}
    where as_of_date + 1 in (select night from {{ ref('int_nights') }})

),

tiers as (

    select night, tier as risk_tier
    from {{ ref('int_nights') }}
    cross join (values ('high'), ('medium'), ('low'), ('none')) as t(tier)

),

counted as (

    select
        risk.night,
        risk.risk_tier,
        count(*) as accounts,
        count(*) filter (where coalesce(previous.risk_tier, 'none') <> risk.risk_tier
                            or accounts.first_seen_night = risk.night) as new_accounts
    from risk
    inner join accounts on accounts.night = risk.night and accounts.account_id = risk.account_id
    left join previous on previous.night = risk.night and previous.account_id = risk.account_id
    group by risk.night, risk.risk_tier

),

final as (

    select
        tiers.night as as_of_date,
        tiers.risk_tier,
        coalesce(counted.accounts, 0)::integer as accounts,
        coalesce(counted.new_accounts, 0)::integer as new_accounts
    from tiers
    left join counted on counted.night = tiers.night and counted.risk_tier = tiers.risk_tier

)

select * from final
