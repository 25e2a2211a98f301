-- self_rating: a client and a freelancer who share a payment fingerprint (the client pays with
-- the freelancer's own payout account) and work together, strongest when the client rates the
-- freelancer highly. Both accounts are scored: the client account is part of the scheme.
{%- set t = 'self_rating' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

payment_methods as (

    select night, account_id, fingerprint from {{ ref('int_payment_methods__as_of') }}

),

reviews as (

    select nights.night, r.*
    from nights
    inner join {{ ref('stg_reviews') }} as r
        on r.export_date <= nights.night
        and r.review_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('r.review_day', th(t, 'lookback_days')) }}

),

work_pairs as (

    select night, client_account_id, freelancer_account_id
    from {{ ref('int_contracts__as_of') }}
    union
    select night, reviewer_account_id, reviewee_account_id
    from reviews

),

shared as (

    select
        work_pairs.night,
        work_pairs.client_account_id,
        work_pairs.freelancer_account_id,
        min(client_pm.fingerprint) as fingerprint
    from work_pairs
    inner join payment_methods as client_pm
        on client_pm.night = work_pairs.night
        and client_pm.account_id = work_pairs.client_account_id
    inner join payment_methods as freelancer_pm
        on freelancer_pm.night = work_pairs.night
        and freelancer_pm.account_id = work_pairs.freelancer_account_id
        and freelancer_pm.fingerprint = client_pm.fingerprint
    where work_pairs.client_account_id <> work_pairs.freelancer_account_id
    group by work_pairs.night, work_pairs.client_account_id, work_pairs.freelancer_account_id

),

rated as (

    select
        shared.night,
        shared.client_account_id,
        shared.freelancer_account_id,
        shared.fingerprint,
        count(reviews.review_id) as high_reviews,
        avg(reviews.rating) as avg_rating
    from shared
    left join reviews
        on reviews.night = shared.night
        and reviews.reviewer_account_id = shared.client_account_id
        and reviews.reviewee_account_id = shared.freelancer_account_id
        and reviews.rating >= {{ th(t, 'min_rating') }}
    group by all

),

freelancer_side as (

    select
        night,
        freelancer_account_id as account_id,
        sum(high_reviews) as high_reviews,
        count(*) as clients,
        max(avg_rating) as rating,
        min(fingerprint) as fingerprint,
        min(client_account_id) as example_account
    from rated
    group by night, freelancer_account_id

),

client_side as (

    select
        night,
        client_account_id as account_id,
        sum(high_reviews) as high_reviews,
        count(*) as freelancers,
        max(avg_rating) as rating,
        min(fingerprint) as fingerprint,
        min(freelancer_account_id) as example_account
    from rated
    group by night, client_account_id

),

both_sides as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        case when high_reviews > 0 then 0.6 + 0.4 * {{ ramp('high_reviews', 1, 3) }} else 0.5 end as strength,
        {{ fmt_head("'{} client(s) (e.g. {}) pay with this account''s own payout account (fingerprint {}...) and left {} high rating(s){}'") }},
               clients, example_account, left(fingerprint, 8), high_reviews,
               case when rating is not null then {{ fmt_head("' averaging {:.1f}'") }}, {{ round_half_up('rating', 1) }}) else '' end) as evidence
    from freelancer_side
    union all
    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        case when high_reviews > 0 then 0.6 + 0.4 * {{ ramp('high_reviews', 1, 3) }} else 0.5 end as strength,
        {{ fmt_head("'pays with the payout account of {} freelancer(s) it hires (e.g. {}, fingerprint {}...) and left {} high rating(s){}'") }},
               freelancers, example_account, left(fingerprint, 8), high_reviews,
               case when rating is not null then {{ fmt_head("' averaging {:.1f}'") }}, {{ round_half_up('rating', 1) }}) else '' end) as evidence
    from client_side

),

-- An account can be on both sides (a cell member who also hires a cell-mate): one row per
-- account and night, the stronger side's evidence.
final as (

    select
        night,
        account_id,
        any_value(indicator_id) as indicator_id,
        max(strength) as strength,
        max_by(evidence, (strength, evidence)) as evidence  -- ties: one fixed choice
    from both_sides
    group by night, account_id

)

select * from final
