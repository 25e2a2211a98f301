-- Accounts hit per night and indicator: 0 when none, null when the platform sent none of the
-- data the indicator needs that night (data_status says what is missing).
{{ config(**night_incremental('as_of_date',
    on_schema_change='append_new_columns')) }}

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
        case when coalesce(status.data_available, true) then coalesce(hits.accounts, 0) end::integer as accounts,
        coalesce(status.data_status, 'ok') as data_status
    from nights
    cross join indicators
    left join hits on hits.as_of_date = nights.night and hits.indicator_id = indicators.indicator_id
    left join {{ ref('int_indicator_data_status') }} as status
        on status.night = nights.night and status.indicator_id = indicators.indicator_id

)

select * from final
