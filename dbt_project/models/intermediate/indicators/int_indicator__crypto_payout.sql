-- crypto_payout: freelancer payouts (by amount) to cryptocurrency wallets in the window. The
-- advisories name requests to be paid in virtual currency as a red flag; a platform's ordinary
-- freelancers are paid to bank, card or payment-service accounts. Any crypto payout is a weak
-- sign (strength 0.3); the strength grows with the crypto share, to 1 when all of it is.
-- The weight stays low: legitimate crypto users exist, it counts in combination.
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
        and {{ after_window_start('tx.transaction_day', th(t, 'lookback_days')) }}
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
        round(0.3 + 0.7 * {{ ramp('crypto_usd / payout_usd', th(t, 'min_share'), th(t, 'full_share')) }}, 4) as strength,
        format('${:,.0f} of ${:,.0f} paid out to crypto wallets in {} days',
               crypto_usd, payout_usd, {{ th(t, 'lookback_days') }}) as evidence,
        crypto_usd,
        payout_usd
    from payouts
    where payout_usd > 0 and crypto_usd > 0
      and crypto_usd >= {{ th(t, 'min_share') }} * payout_usd

)

select * from final
