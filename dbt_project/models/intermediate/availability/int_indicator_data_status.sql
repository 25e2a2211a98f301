-- Whether each indicator has the data it needs on each night being computed: the catalog's
-- `requires` ('' = contract 1.0 data only; items joined by '|' = any one of them suffices;
-- groups joined by ';' = every group is needed) against int_data_availability.
-- data_status is 'ok', or 'no data from this platform: <what is missing>'.

with

nights as (

    select night from {{ ref('int_nights') }}

),

catalog as (

    select indicator_id, coalesce(requires, '') as requires from {{ ref('indicator_catalog') }}

),

groups as (

    select indicator_id, requires, trim(requirement) as requirement
    from (
        select indicator_id, requires, {{ each_of(split_text('requires', ';')) }} as requirement
        from catalog
        where requires <> ''
    ) as split_requires

),

items as (

    select indicator_id, requirement, trim(data_item) as data_item
    from (
        select indicator_id, requirement, {{ each_of(split_text('requirement', '|')) }} as data_item
        from groups
    ) as split_items

),

met as (

    select
        nights.night,
        items.indicator_id,
        items.requirement,
        coalesce(bool_or(a.available), false) as available
    from nights
    cross join items
    left join {{ ref('int_data_availability') }} as a
        on a.night = nights.night and a.data_item = items.data_item
    group by nights.night, items.indicator_id, items.requirement

),

missing as (

    select
        night,
        indicator_id,
        {{ agg_text("replace(requirement, '|', ' or ')", "'; '", 'requirement') }}
            filter (where not available) as missing
    from met
    group by night, indicator_id

),

final as (

    select
        nights.night,
        catalog.indicator_id,
        catalog.requires,
        missing.missing is null as data_available,
        case when missing.missing is null then 'ok'
             else 'no data from this platform: ' || missing.missing end as data_status
    from nights
    cross join catalog
    left join missing
        on missing.night = nights.night and missing.indicator_id = catalog.indicator_id

)

select * from final
