-- Each account's own score on each night being computed, from its indicator hits of the last
-- score_lookback_days nights. A hit's value (weight * strength) halves every
-- score_half_life_days; per indicator the best decayed hit counts. Indicators combine as a
-- noisy-OR, 100 * (1 - prod(1 - value)), so several independent weak signs outrank one strong
-- common one, plus family_bonus_points for each distinct indicator family beyond the first.
-- An account an analyst marked false_positive only counts hits after the decision that are
-- new or stronger than what the analyst saw.
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

    select indicator_id, name, family, weight from {{ ref('indicator_catalog') }}

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
        history.*,
        indicators.name,
        indicators.family,
        indicators.weight * history.strength
            * pow(0.5, date_diff('day', history.as_of_date, history.night) / {{ var('score_half_life_days') }}) as value
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
        max(value) as value,
        -- equal values: the latest night, so that every run picks the same hit
        arg_max(evidence, (value, as_of_date)) as evidence,
        arg_max(as_of_date, (value, as_of_date)) as hit_night
    from counted
    group by night, account_id, indicator_id

),

combined as (

    select
        night,
        account_id,
        count(*) as indicators_fired,
        count(distinct family) as families,
        -- summed in one fixed order: a parallel sum of doubles can differ in the last bit
        100 * (1 - exp(list_sum(list(ln(1 - least(value, 0.99)) order by indicator_id)))) as noisy_or,
        array_to_string(list(
            format('{} ({:.0f} pts{}): {}', name, 100 * value,
                   case when hit_night < night then ', ' || strftime(hit_night, '%Y-%m-%d') else '' end,
                   evidence)
            order by value desc, indicator_id)[1:3], '; ') as reasons,
        string_agg(indicator_id, ',' order by value desc, indicator_id) as indicator_ids
    from per_indicator
    group by night, account_id

),

final as (

    select
        accounts.night,
        accounts.account_id,
        accounts.account_type,
        coalesce(combined.indicators_fired, 0) as indicators_fired,
        coalesce(combined.families, 0) as families,
        case when combined.noisy_or is null then 0.0
             else round(least(100.0, combined.noisy_or + least({{ var('family_bonus_max') }},
                        {{ var('family_bonus_points') }} * (combined.families - 1))), 4)
        end as own_score,
        combined.reasons,
        combined.indicator_ids,
        reviews.status as review_status,
        reviews.decided_at as reviewed_at
    from accounts
    left join combined
        on combined.night = accounts.night and combined.account_id = accounts.account_id
    left join reviews
        on reviews.night = accounts.night and reviews.account_id = accounts.account_id

)

select * from final
