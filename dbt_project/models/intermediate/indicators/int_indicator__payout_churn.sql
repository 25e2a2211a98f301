-- payout_churn: several new payout methods added by a freelancer in a short time.
{%- set t = 'payout_churn' %}

with

methods as (

    select pm.night, pm.account_id, count(*) as new_methods, count(distinct pm.method_type) as kinds
    from {{ ref('int_payment_methods__as_of') }} as pm
    inner join {{ ref('int_accounts__as_of') }} as a
        on a.night = pm.night and a.account_id = pm.account_id and a.account_type = 'freelancer'
    where pm.added_at::date between pm.night - {{ th(t, 'lookback_days') }} and pm.night
    group by pm.night, pm.account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        0.4 + 0.6 * {{ ramp('new_methods', th(t, 'min_methods'), th(t, 'min_methods') ~ ' + 3') }} as strength,
        {{ fmt_head("'{} payout methods ({} kinds) added in {} days'") }}, new_methods, kinds,
               {{ th(t, 'lookback_days') }}) as evidence,
        new_methods
    from methods
    where new_methods >= {{ th(t, 'min_methods') }}

)

select * from final
