-- crypto_payout: freelancer payouts (by amount) to cryptocurrency wallets in the window. The
-- advisories name requests to be paid in virtual currency as a red flag; a platform's ordinary
-- freelancers are paid to bank, card or payment-service accounts. Any crypto payout is a weak
-- sign (strength 0.3); the strength grows with the crypto share, to 1 when all of it is.
-- An active crypto wallet on file as a payout method that received nothing in the window is
-- the same request made before the first payout (a new or dormant operation sets up where its
-- money goes first): strength 0.3, like an occasional crypto payout.
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

-- active crypto wallets on file that were paid nothing in the window
idle_wallets as (

    select
        pm.night,
        pm.account_id,
        count(*) as wallets,
        min(pm.added_at)::date as first_added
    from {{ ref('int_payment_methods__as_of') }} as pm
    inner join nights on nights.night = pm.night
    anti join payouts
        on payouts.night = pm.night and payouts.account_id = pm.account_id
        and payouts.crypto_usd > 0
    where pm.method_type = 'crypto_wallet' and pm.is_active
    group by pm.night, pm.account_id

),

paid as (

    select
        night,
        account_id,
        round(0.3 + 0.7 * {{ ramp('crypto_usd / payout_usd', th(t, 'min_share'), th(t, 'full_share')) }}, 4) as strength,
        {{ fmt_head("'${:,.0f} of ${:,.0f} paid out to crypto wallets in {} days'") }},
               crypto_usd, payout_usd, {{ th(t, 'lookback_days') }}) as evidence,
        crypto_usd,
        payout_usd
    from payouts
    where payout_usd > 0 and crypto_usd > 0
      and crypto_usd >= {{ th(t, 'min_share') }} * payout_usd

),

on_file as (

    select
        night,
        account_id,
        {{ th(t, 'wallet_on_file_strength') }} as strength,
        {{ fmt_head("'{} crypto wallet{} on file as payout method (first added {}), no crypto payout in {} days'") }},
               wallets, case when wallets > 1 then 's' else '' end,
               coalesce({{ ts_text("first_added", 'date') }}, 'on an unknown date'),
               {{ th(t, 'lookback_days') }}) as evidence,
        0.0::double as crypto_usd,
        coalesce(p.payout_usd, 0.0) as payout_usd
    from idle_wallets
    left join payouts as p using (night, account_id)

),

final as (

    select night, account_id, '{{ t }}' as indicator_id, strength, evidence, crypto_usd, payout_usd
    from paid

    union all

    select night, account_id, '{{ t }}' as indicator_id, strength, evidence, crypto_usd, payout_usd
    from on_file

)

select * from final
