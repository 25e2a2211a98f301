-- Each account's own score on each night being computed, from its indicator hits of the last
-- score_lookback_days nights. A hit's value (weight * strength) halves every
-- score_half_life_days; per indicator the best decayed hit counts. Indicators combine as a
-- noisy-OR, 100 * (1 - prod(1 - value)), so several independent weak signs outrank one strong
-- common one, plus family_bonus_points for each distinct indicator family beyond the first.
-- An account an analyst marked false_positive only counts hits after the decision that are
-- new or stronger than what the analyst saw.
-- Weak and strong signs (catalog evidence_class, sign_group): signs that are innocent alone
-- (night-owl hours, long weeks, a VPN, a low rate) decide nothing alone, and two independent
-- ones are what an analyst should look at. An account whose signs of at least
-- two_sign_min_value (decayed, or undecayed on one of the last two_sign_window_days nights)
-- come from two sign groups or more scores at least tier_medium; one whose
-- only such sign is a single weak group (and no strong sign of that size) scores at most
-- single_weak_sign_max_score, below medium. score_rule says which applied.
-- A decision counts for the nights first processed after it was made (stg_night_clock), not by
-- the nights' dates: a catch-up of past nights honours today's decisions from the next run on,
-- and re-running a night reproduces what was known when it first ran. A night without a clock
-- row (processed before the clock existed) knows the decisions made up to the end of its day.

with

nights as (

    select night from {{ ref('int_nights') }}

),

-- when each night's (and each hit's) results were first computed
known as (

    select
        nights.night,
        coalesce(clock.first_processed_at, nights.night + interval 1 day) as known_at
    from nights
    left join {{ ref('stg_night_clock') }} as clock on clock.night = nights.night

),

accounts as (

    select night, account_id, account_type from {{ ref('int_accounts__as_of') }}

),

indicators as (

    select
        indicator_id, name, family, {{ rule_weight('weight', alias='weight') }},
        -- a catalog without the columns scores every sign by its weight alone
        coalesce(evidence_class, 'strong') as evidence_class,
        coalesce(sign_group, indicator_id) as sign_group
    from {{ ref('indicator_catalog') }}

),

reviews as (

    select
        known.night,
        r.account_id,
        r.status,
        r.decided_at
    from known
    inner join {{ ref('stg_analyst_reviews') }} as r
        on r.decided_at < known.known_at
    qualify row_number() over (
        partition by known.night, r.account_id order by r.decided_at desc, r.status
    ) = 1

),

history as (

    select
        nights.night,
        h.*,
        coalesce(clock.first_processed_at, h.as_of_date + interval 1 day) as hit_known_at
    from nights
    inner join {{ ref('account_indicator_hits') }} as h
        on h.as_of_date between nights.night - {{ var('score_lookback_days') }} and nights.night
    left join {{ ref('stg_night_clock') }} as clock on clock.night = h.as_of_date

),

reviewed_baseline as (

    select
        history.night,
        history.account_id,
        history.indicator_id,
        max(history.strength) as seen_strength
    from history
    inner join reviews
        on reviews.night = history.night and reviews.account_id = history.account_id
    where reviews.status = 'false_positive'
      and history.hit_known_at <= reviews.decided_at
    group by all

),

counted as (

    select
        {{ all_but('sign_group', 'history') }},
        indicators.name,
        indicators.family,
        -- a hit that is another group's fact (a ring only through a shared line) is as weak as
        -- that fact
        case when history.sign_group <> indicators.sign_group then 'weak'
             else indicators.evidence_class end as evidence_class,
        -- a hit names its own group where its indicator tells habits apart (nights stored
        -- before hits carried one: the catalog's)
        coalesce(history.sign_group, indicators.sign_group) as sign_group,
        indicators.weight * history.strength
            * pow(0.5, {{ diff_units('day', "history.as_of_date", "history.night") }} / {{ var('score_half_life_days') }}) as value,
        -- large enough to count as one of two signs: decayed, or undecayed within the window
        indicators.weight * history.strength
            * pow(0.5, {{ diff_units('day', "history.as_of_date", "history.night") }} / {{ var('score_half_life_days') }})
            >= {{ var('two_sign_min_value') }}
            or (history.as_of_date > history.night - {{ var('two_sign_window_days') }}
                and indicators.weight * history.strength >= {{ var('two_sign_min_value') }}) as is_sign
    from history
    inner join indicators on indicators.indicator_id = history.indicator_id
    left join reviews
        on reviews.night = history.night and reviews.account_id = history.account_id
    left join reviewed_baseline as baseline
        on baseline.night = history.night
        and baseline.account_id = history.account_id
        and baseline.indicator_id = history.indicator_id
    where coalesce(reviews.status, '') <> 'false_positive'
       or (history.hit_known_at > reviews.decided_at
           and history.strength > coalesce(baseline.seen_strength, 0) + 0.0001)

),

per_indicator as (

    select
        night,
        account_id,
        indicator_id,
        min(name) as name,
        min(family) as family,
        min(evidence_class) as evidence_class,
        max_by(sign_group, (value, as_of_date)) as sign_group,
        max(value) as value,
        -- equal values: the latest night, so that every run picks the same hit
        max_by(evidence, (value, as_of_date)) as evidence,
        max_by(as_of_date, (value, as_of_date)) as hit_night
    from counted
    group by night, account_id, indicator_id

),

-- the indicators with a sign large enough to count as one of two, each in the group of its
-- largest such hit (a hit names its own group)
sign_indicators as (

    select
        night,
        account_id,
        indicator_id,
        min(evidence_class) as evidence_class,
        max_by(sign_group, (value, as_of_date)) as sign_group
    from counted
    where is_sign
    group by night, account_id, indicator_id

),

signs as (

    select
        night,
        account_id,
        count(*) filter (where evidence_class = 'strong') as strong_signs,
        count(distinct sign_group) as independent_signs,
        {{ agg_text("sign_group", "', '", "sign_group", distinct=true) }} as sign_groups
    from sign_indicators
    group by night, account_id

),

combined as (

    select
        night,
        account_id,
        count(*) as indicators_fired,
        count(distinct family) as families,
        -- summed in one fixed order: a parallel sum of doubles can differ in the last bit
        100 * (1 - exp({{ ordered_sum('ln(1 - least(value, 0.99))', 'indicator_id') }})) as noisy_or,
        {{ list_text(list_head(list_agg(
            fmt_head("'{} ({:.0f} pts{}): {}'") ~ ", name, " ~ round_half_up('100 * value', 0) ~ ",
                   case when hit_night < night then ', ' || " ~ ts_text("hit_night", 'date') ~ " else '' end,
                   evidence)",
            order_by="value desc, indicator_id"), 3), "'; '") }} as reasons,
        {{ agg_text("indicator_id", "','", "value desc, indicator_id") }} as indicator_ids
    from per_indicator
    group by night, account_id

),

with_signs as (

    select
        combined.*,
        coalesce(signs.strong_signs, 0) as strong_signs,
        coalesce(signs.independent_signs, 0) as independent_signs,
        signs.sign_groups
    from combined
    left join signs using (night, account_id)

),

scored as (

    select
        with_signs.*,
        case when with_signs.noisy_or is null then 0.0
             else least(100.0, with_signs.noisy_or + least({{ var('family_bonus_max') }},
                        {{ var('family_bonus_points') }} * (with_signs.families - 1)))
        end as base_score,
        case
            when with_signs.noisy_or is null then null
            when with_signs.independent_signs >= 2 then 'two_signs'
            when with_signs.strong_signs = 0 then 'one_weak_sign'
        end as score_rule
    from with_signs

),

final as (

    select
        accounts.night,
        accounts.account_id,
        accounts.account_type,
        coalesce(scored.indicators_fired, 0) as indicators_fired,
        coalesce(scored.families, 0) as families,
        coalesce(scored.independent_signs, 0) as independent_signs,
        {{ round_half_up("case scored.score_rule
            when 'two_signs' then greatest(scored.base_score, " ~ tier_bound('medium') ~ ")
            when 'one_weak_sign' then least(scored.base_score, " ~ var('single_weak_sign_max_score') ~ ")
            else coalesce(scored.base_score, 0.0)
        end", 4) }} as own_score,
        scored.score_rule,
        nullif(concat_ws('; ',
            scored.reasons,
            case
                when scored.score_rule = 'two_signs' and scored.base_score < {{ tier_bound('medium') }}
                    then {{ fmt_head("'Two independent signs ({}): raised to tier medium'") }}, scored.sign_groups)
                when scored.score_rule = 'one_weak_sign' and scored.base_score >= {{ var('single_weak_sign_max_score') }} + 0.5
                    then {{ fmt_head("'One weak sign ({}) alone, innocent on its own: held below medium'") }},
                                coalesce(scored.sign_groups, 'minor'))
            end), '') as reasons,
        scored.indicator_ids,
        reviews.status as review_status,
        reviews.decided_at as reviewed_at
    from accounts
    left join scored
        on scored.night = accounts.night and scored.account_id = accounts.account_id
    left join reviews
        on reviews.night = accounts.night and reviews.account_id = accounts.account_id

)

select * from final
