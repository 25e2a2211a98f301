-- Money paid out per UTC day and account. Days within the late-event window of the nights being
-- computed are recomputed, so late payouts land on their day.
{{ config(**night_incremental('as_of_date')) }}

with

payouts as (

    select * from {{ ref('stg_transactions') }}
    where kind = 'freelancer_payout'
      and export_date <= {{ as_of() }}
      and transaction_day <= {{ as_of() }}
      and transaction_day > (select min(night) from {{ ref('int_nights') }}) - 4

),

final as (

    select
        transaction_day as as_of_date,
        account_id,
        sum(amount_usd)::double as payout_usd,
        count(*)::integer as payouts
    from payouts
    group by transaction_day, account_id

)

select * from final
