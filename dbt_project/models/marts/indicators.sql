-- One row per indicator: the seed's metadata plus its thresholds (var indicator_thresholds).

with

seed as (

    select * from {{ ref('indicator_catalog') }}

),

thresholds as (

    select * from (values
    {%- for indicator_id, values in var('indicator_thresholds').items() %}
        ('{{ indicator_id }}', '{{ tojson(values) }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(indicator_id, thresholds)

),

final as (

    select
        seed.indicator_id,
        seed.name,
        seed.family,
        seed.description,
        seed.source,
        seed.weight::double as weight,
        coalesce(thresholds.thresholds, '{}') as thresholds
    from seed
    left join thresholds on thresholds.indicator_id = seed.indicator_id

)

select * from final
