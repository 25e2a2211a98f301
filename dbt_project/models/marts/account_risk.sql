-- One row per account known on the latest night: its score, tier, reasons and profile.

with

risk as (

    select * from {{ ref('int_account_risk') }}
    where night = {{ as_of() }}

),

accounts as (

    select * from {{ ref('int_accounts__as_of') }}
    where night = {{ as_of() }}

),

categories as (

    select account_id, {{ agg_text("category", "','", "category", distinct=true) }} as categories
    from (
        select freelancer_account_id as account_id, category
        from {{ ref('int_contracts__as_of') }} where night = {{ as_of() }}
        union all
        select client_account_id, category
        from {{ ref('int_contracts__as_of') }} where night = {{ as_of() }}
    )
    group by account_id

),

previous as (

    select account_id, risk_score, risk_tier
    from {{ ref('account_score_history') }}
    where as_of_date = {{ as_of() }} - 1

),

final as (

    select
        risk.account_id,
        risk.account_type,
        risk.night as as_of_date,
        risk.risk_score,
        risk.risk_tier,
        risk.indicators_fired,
        coalesce(risk.reasons, 'No indicator fired in the last {{ var("score_lookback_days") }} nights.') as reasons,
        risk.cluster_id,
        accounts.display_name,
        accounts.country,
        accounts.timezone,
        accounts.created_at,
        {{ diff_units('day', "accounts.created_at::date", "risk.night") }}::integer as account_age_days,
        categories.categories,
        case when previous.account_id is not null then previous.risk_score
             when accounts.first_seen_night < risk.night then 0.0 end as previous_score,
        case when previous.account_id is not null then previous.risk_tier
             when accounts.first_seen_night < risk.night then 'none' end as previous_tier,
        (risk.risk_tier = 'high' and coalesce(previous.risk_tier, 'none') <> 'high') as is_new_high,
        risk.review_status,
        risk.own_score,
        risk.spread_points,
        risk.independent_signs,
        risk.score_rule
    from risk
    inner join accounts on accounts.account_id = risk.account_id
    left join categories on categories.account_id = risk.account_id
    left join previous on previous.account_id = risk.account_id

)

select * from final
