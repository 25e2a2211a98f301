-- Accounts hit per night and indicator (0 when none).
{{ config(materialized='incremental', incremental_strategy='delete+insert', unique_key='as_of_date') }}

with

nights as (

    select night from {{ ref('int_nights') }}

),

indicators as (

    select indicator_id from {{ ref('indicator_catalog') }}

),

hits as (

    select as_of_date, indicator_id, count(distinct account_id) as accounts
    from {{ ref('int_indicator_hits') }}
    group by as_of_date, indicator_id

),

final as (

    select
        nights.night as as_of_date,
        indicators.indicator_id,
        coalesce(hits.accounts, 0)::integer as accounts
    from nights
    cross join indicators
    left join hits on hits.as_of_date = nights.night and hits.indicator_id = indicators.indicator_id

)

select * from final
