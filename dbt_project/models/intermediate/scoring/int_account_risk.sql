-- Final risk per account and night: the own score plus a bounded spread from the riskiest
-- other account of its cluster: cluster_spread_share of that account's own score above
-- cluster_spread_min_neighbour_score, at most cluster_spread_max_points, with the link it came
-- through in the reasons.
-- Accounts an analyst marked false_positive receive no spread until they show new evidence.

with

scores as (

    select * from {{ ref('int_account_scores') }}

),

clusters as (

    select * from {{ ref('int_account_clusters') }}

),

links as (

    select * from {{ ref('int_account_links') }}

),

members as (

    select clusters.night, clusters.cluster_id, clusters.account_id, scores.own_score
    from clusters
    inner join scores on scores.night = clusters.night and scores.account_id = clusters.account_id

),

ranked as (

    select
        *,
        row_number() over (partition by night, cluster_id order by own_score desc, account_id) as rank_in_cluster
    from members

),

top_two as (

    select
        night,
        cluster_id,
        max(account_id) filter (where rank_in_cluster = 1) as top_account,
        max(own_score) filter (where rank_in_cluster = 1) as top_score,
        max(account_id) filter (where rank_in_cluster = 2) as second_account,
        max(own_score) filter (where rank_in_cluster = 2) as second_score
    from ranked
    where rank_in_cluster <= 2
    group by night, cluster_id

),

neighbour as (

    select
        members.night,
        members.account_id,
        members.cluster_id,
        case when top_two.top_account = members.account_id then top_two.second_account
             else top_two.top_account end as neighbour_account,
        case when top_two.top_account = members.account_id then top_two.second_score
             else top_two.top_score end as neighbour_score
    from members
    inner join top_two on top_two.night = members.night and top_two.cluster_id = members.cluster_id

),

through as (

    select
        neighbour.night,
        neighbour.account_id,
        coalesce(
            'direct ' || string_agg(distinct direct.link_type, ', ' order by direct.link_type),
            'the same cluster via ' || (
                select string_agg(distinct own.link_type, ', ' order by own.link_type)
                from links as own
                where own.night = neighbour.night and own.account_id = neighbour.account_id
            )
        ) as link_path
    from neighbour
    left join links as direct
        on direct.night = neighbour.night
        and direct.account_id = neighbour.account_id
        and direct.linked_account_id = neighbour.neighbour_account
    group by neighbour.night, neighbour.account_id

),

spread as (

    select
        neighbour.*,
        through.link_path,
        least({{ var('cluster_spread_max_points') }},
              {{ var('cluster_spread_share') }}
              * greatest(0, neighbour.neighbour_score - {{ var('cluster_spread_min_neighbour_score') }})
        ) as spread_points
    from neighbour
    left join through on through.night = neighbour.night and through.account_id = neighbour.account_id

),

combined as (

    select
        scores.*,
        spread.cluster_id,
        spread.neighbour_account,
        spread.neighbour_score,
        spread.link_path,
        case when scores.review_status = 'false_positive' and scores.own_score = 0 then 0
             else coalesce(spread.spread_points, 0) end as spread_points
    from scores
    left join spread on spread.night = scores.night and spread.account_id = scores.account_id

),

final as (

    select
        night,
        account_id,
        account_type,
        round(least(100.0, own_score + spread_points), 2)::double as risk_score,
        {{ risk_tier('least(100.0, own_score + spread_points)') }} as risk_tier,
        round(own_score, 2)::double as own_score,
        round(spread_points, 2)::double as spread_points,
        indicators_fired::integer as indicators_fired,
        families::integer as families,
        nullif(concat_ws('; ',
            reasons,
            case when spread_points > 0 then format('Linked to {} (own score {:.0f}) through {}: +{:.0f} pts',
                neighbour_account, neighbour_score, link_path, spread_points) end
        ), '') as reasons,
        indicator_ids,
        cluster_id,
        review_status,
        reviewed_at
    from combined

)

select * from final
