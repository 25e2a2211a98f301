-- Which contract 1.1 data the platform sends, on each night being computed: one row per night
-- and data item (`table` or `table.column`, the notation of the catalog's `requires`).
-- A table counts as sent when it delivered rows in the last data_availability_lookback_days
-- nights; a column when the latest version of some account / document (as of the night)
-- carries it. A 1.0 platform, or one that has not started sending an addition, reads 0 here,
-- and the indicators needing it report "no data from this platform" instead of zero hits.
-- Cost: a window of the two event tables and one pass over the night's entity versions.
{%- set days = var('data_availability_lookback_days') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

proposals as (

    select nights.night, 'proposals' as data_item, count(p.proposal_id) as rows_seen
    from nights
    left join {{ ref('stg_proposals') }} as p
        on p.export_date between nights.night - {{ days }} and nights.night
        and {{ after_window_start('p.export_date', days) }}
    group by nights.night

),

profile_changes as (

    select nights.night, 'profile_changes' as data_item, count(c.change_id) as rows_seen
    from nights
    left join {{ ref('stg_profile_changes') }} as c
        on c.export_date between nights.night - {{ days }} and nights.night
        and {{ after_window_start('c.export_date', days) }}
    group by nights.night

),

account_columns as (

    select
        nights.night,
        count(a.profile_text) as profile_text,
        count(a.referred_by_account_id) as referred_by_account_id
    from nights
    left join {{ ref('int_accounts__as_of') }} as a on a.night = nights.night
    group by nights.night

),

document_columns as (

    select nights.night, count(d.verified_at) as verified_at
    from nights
    left join {{ ref('int_identity_documents__as_of') }} as d on d.night = nights.night
    group by nights.night

),

unioned as (

    select * from proposals
    union all
    select * from profile_changes
    union all
    select night, 'accounts.profile_text', profile_text from account_columns
    union all
    select night, 'accounts.referred_by_account_id', referred_by_account_id from account_columns
    union all
    select night, 'identity_documents.verified_at', verified_at from document_columns

),

final as (

    select
        night,
        data_item,
        rows_seen::bigint as rows_seen,
        rows_seen > 0 as available
    from unioned

)

select * from final
