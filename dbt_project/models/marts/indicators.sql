-- One row per indicator: the seed's metadata plus its weight and thresholds (var
-- indicator_thresholds), with approved rule changes applied (macros/rules.sql), and, as of
-- the latest night, whether the platform sends the data it needs.

with

seed as (

    select * from {{ ref('indicator_catalog') }}

),

thresholds as (

    select * from (values
    {%- for indicator_id, values in rule_thresholds().items() %}
        ('{{ indicator_id }}', '{{ tojson(values) }}'){% if not loop.last %},{% endif %}
    {%- endfor %}
    ) as t(indicator_id, thresholds)

),

status as (

    select indicator_id, data_available, data_status
    from {{ ref('int_indicator_data_status') }}
    where night = {{ as_of() }}

),

final as (

    select
        seed.indicator_id,
        seed.name,
        seed.family,
        seed.description,
        seed.source,
        {{ rule_weight('seed.weight', 'seed.indicator_id') }}::double as weight,
        coalesce(thresholds.thresholds, '{}') as thresholds,
        seed.evidence_class,
        seed.sign_group,
        coalesce(seed.requires, '') as requires,
        coalesce(status.data_available, true) as data_available,
        coalesce(status.data_status, 'ok') as data_status
    from seed
    left join thresholds on thresholds.indicator_id = seed.indicator_id
    left join status on status.indicator_id = seed.indicator_id

)

select * from final
