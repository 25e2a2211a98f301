-- Final risk per account and night: the own score plus a bounded spread from the riskiest
-- linked account: its link type's share (cluster_spread_share_by_link) of that account's own score above
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

-- Spread candidates: every directly linked account, worth the share of its link type (a
-- document, portrait or payment fingerprint is one person or one money flow; an IP shared on a
-- day can be an office or a campus), and the riskiest other member of the cluster reached
-- through others, worth the smaller indirect share. The best candidate counts.
{%- set shares = var('cluster_spread_share_by_link') %}

direct as (

    select
        links.night,
        links.account_id,
        links.linked_account_id as neighbour_account,
        linked.own_score as neighbour_score,
        max(case links.link_type
            {%- for link_type, share in shares.items() %}
            when '{{ link_type }}' then {{ share }}
            {%- endfor %}
            else 0 end) as share,
        -- the strongest link type; between equally strong ones the last by name, so that
        -- every run (nightly, catch-up, full refresh) names the same one
        max_by(links.link_type, (case links.link_type
            {%- for link_type, share in shares.items() %}
            when '{{ link_type }}' then {{ share }}
            {%- endfor %}
            else 0 end, links.link_type)) as link_type
    from links
    inner join scores as linked
        on linked.night = links.night and linked.account_id = links.linked_account_id
    group by links.night, links.account_id, links.linked_account_id, linked.own_score

),

candidates as (

    select
        night,
        account_id,
        neighbour_account,
        neighbour_score,
        'direct ' || link_type as link_path,
        share * greatest(0, neighbour_score - {{ var('cluster_spread_min_neighbour_score') }}) as points
    from direct
    union all
    select
        neighbour.night,
        neighbour.account_id,
        neighbour.neighbour_account,
        neighbour.neighbour_score,
        'the same cluster via ' || (
            select {{ agg_text("own.link_type", "', '", "own.link_type", distinct=true) }}
            from links as own
            where own.night = neighbour.night and own.account_id = neighbour.account_id
        ) as link_path,
        -- reached through others: worth the share of this account's own strongest link
        -- (a fake client tied by its payment fingerprint to a cell keeps that strength),
        -- times cluster_spread_share_indirect
        {{ var('cluster_spread_share_indirect') }} * coalesce(own_link.share, 0)
            * greatest(0, neighbour.neighbour_score - {{ var('cluster_spread_min_neighbour_score') }}) as points
    from neighbour
    left join (
        select night, account_id, max(share) as share from direct group by night, account_id
    ) as own_link
        on own_link.night = neighbour.night and own_link.account_id = neighbour.account_id

),

spread as (

    select
        neighbour.night,
        neighbour.account_id,
        neighbour.cluster_id,
        best.neighbour_account,
        best.neighbour_score,
        best.link_path,
        least({{ var('cluster_spread_max_points') }}, coalesce(best.points, 0)) as spread_points
    from neighbour
    left join (
        select * from candidates
        qualify row_number() over (
            partition by night, account_id
            order by points desc, neighbour_score desc, neighbour_account, link_path
        ) = 1
    ) as best
        on best.night = neighbour.night and best.account_id = neighbour.account_id

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
        {{ round_half_up('least(100.0, own_score + spread_points)', 2) }} as risk_score,
        {{ risk_tier('least(100.0, own_score + spread_points)') }} as risk_tier,
        {{ round_half_up('own_score', 2) }} as own_score,
        {{ round_half_up('spread_points', 2) }} as spread_points,
        indicators_fired::integer as indicators_fired,
        families::integer as families,
        independent_signs::integer as independent_signs,
        score_rule,
        nullif(concat_ws('; ',
            reasons,
            case when spread_points > 0 then {{ fmt_head("'Linked to {} (own score {:.0f}) through {}: +{:.0f} pts'") }},
                neighbour_account, {{ round_half_up('neighbour_score', 0) }}, link_path,
                {{ round_half_up('spread_points', 0) }}) end
        ), '') as reasons,
        indicator_ids,
        cluster_id,
        review_status,
        reviewed_at
    from combined

)

select * from final
