-- crypto_payout: most of the freelancer's payouts (by amount) go to cryptocurrency wallets.
{%- set t = 'crypto_payout' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

payouts as (

    select
        nights.night,
        tx.account_id,
        sum(tx.amount_usd)::double as payout_usd,
        coalesce(sum(tx.amount_usd) filter (where pm.method_type = 'crypto_wallet'), 0)::double as crypto_usd
    from nights
    inner join {{ ref('stg_transactions') }} as tx
        on tx.export_date <= nights.night
        and tx.transaction_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
    left join {{ ref('int_payment_methods__as_of') }} as pm
        on pm.night = nights.night and pm.payment_method_id = tx.payment_method_id
    where tx.kind = 'freelancer_payout'
    group by nights.night, tx.account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        0.5 + 0.5 * {{ ramp('crypto_usd / payout_usd', th(t, 'min_share'), 1.0) }} as strength,
        format('${:,.0f} of ${:,.0f} paid out to crypto wallets in {} days',
               crypto_usd, payout_usd, {{ th(t, 'lookback_days') }}) as evidence,
        crypto_usd,
        payout_usd
    from payouts
    where payout_usd > 0 and crypto_usd >= {{ th(t, 'min_share') }} * payout_usd

)

select * from final
