-- One row per linked-account cluster on the latest night. combined_score is the noisy-OR of
-- the members' own scores: how likely it is that at least one of them is what it looks like.

with

members as (

    select
        clusters.cluster_id,
        risk.account_id,
        risk.risk_score,
        risk.own_score
    from {{ ref('int_account_clusters') }} as clusters
    inner join {{ ref('int_account_risk') }} as risk
        on risk.night = clusters.night and risk.account_id = clusters.account_id
    where clusters.night = {{ as_of() }}

),

link_types as (

    select cluster_id, {{ agg_text("link_type", "','", "link_type", distinct=true) }} as link_types
    from {{ ref('account_links') }}
    group by cluster_id

),

final as (

    select
        members.cluster_id,
        count(*)::integer as accounts,
        max(members.risk_score)::double as max_score,
        {{ round_half_up('100 * (1 - exp(' ~ ordered_sum('ln(1 - least(members.own_score / 100e0, 0.99))',
                                                      'members.account_id') ~ '))', 2) }} as combined_score,
        min(link_types.link_types) as link_types
    from members
    left join link_types on link_types.cluster_id = members.cluster_id
    group by members.cluster_id

)

select * from final
