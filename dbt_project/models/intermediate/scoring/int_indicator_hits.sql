-- Every indicator's hits for the nights being computed, with the indicator's weight and the
-- points it is worth at full freshness (100 * weight * strength), and its sign group: the
-- catalog's, or the hit's own where the indicator tells apart habits of different groups
-- (indicators_with_sign_group).

with

hits as (

    {% for indicator_id in indicator_ids() %}
    select night, account_id, indicator_id, strength, evidence,
        {% if indicator_id in indicators_with_sign_group() -%}
        sign_group
        {%- else -%}
        null::string as sign_group
        {%- endif %}
    from {{ ref('int_indicator__' ~ indicator_id) }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

indicators as (

    select * from {{ ref('indicator_catalog') }}

),

final as (

    select
        hits.night as as_of_date,
        hits.account_id,
        hits.indicator_id,
        {{ round_half_up('least(1.0, hits.strength)', 4) }} as strength,
        {{ round_half_up('100 * ' ~ rule_weight('indicators.weight', 'indicators.indicator_id') ~ ' * least(1.0, hits.strength)', 2) }} as points,
        hits.evidence,
        -- the hit's own sign group where its indicator says (catalog's otherwise)
        coalesce(hits.sign_group, indicators.sign_group) as sign_group
    from hits
    inner join indicators on indicators.indicator_id = hits.indicator_id
    where hits.strength > 0

)

select * from final
