-- low_rate: the freelancer's hourly rate (median of its recent hourly contracts in its main
-- category, else its profile's asking rate) far under the market rate for its work where it
-- says it lives: the median rate of its main category (the category of most of its recent
-- contracts, fixed-price ones too: a developer paid by milestone asks a developer's hourly rate;
-- the median over freelancers with recent hourly contracts in that category; the profile-rate
-- median of all freelancers when it has no contract yet or too few peers), scaled by
-- the claimed country's price level (median profile rate of the freelancers of that country /
-- median of all; 1 for countries with fewer than min_country_peers freelancers). A developer
-- in a low-cost market asking its market's rate is not low; a "US" profile at $17/h is.
{%- set t = 'low_rate' %}

with

contracts as (

    select * from {{ ref('int_contracts__as_of') }}
    where created_at::date >= night - {{ th(t, 'lookback_days') }}

),

freelancers as (

    select night, account_id, country, hourly_rate_usd
    from {{ ref('int_accounts__as_of') }}
    where account_type = 'freelancer'

),

freelancer_category_rates as (

    select
        night,
        freelancer_account_id as account_id,
        category,
        median(rate_usd) filter (where contract_type = 'hourly') as rate,
        count(*) as contracts
    from contracts
    group by night, freelancer_account_id, category

),

category_medians as (

    select
        night,
        category,
        median(rate) as median_rate,
        count(*) as peers
    from freelancer_category_rates
    where rate is not null
    group by night, category
    having count(*) >= {{ th(t, 'min_category_peers') }}

),

main_category as (

    select * from freelancer_category_rates
    qualify row_number() over (
        partition by night, account_id order by contracts desc, category
    ) = 1

),

profile_medians as (

    select night, median(hourly_rate_usd) as median_rate, count(*) as peers
    from freelancers
    where hourly_rate_usd > 0
    group by night
    having count(*) >= {{ th(t, 'min_category_peers') }}

),

country_index as (

    select
        freelancers.night,
        freelancers.country,
        median(freelancers.hourly_rate_usd) / any_value(profile_medians.median_rate) as price_index
    from freelancers
    inner join profile_medians on profile_medians.night = freelancers.night
    where freelancers.hourly_rate_usd > 0 and freelancers.country is not null
    group by freelancers.night, freelancers.country
    having count(*) >= {{ th(t, 'min_country_peers') }}

),

compared as (

    select
        freelancers.night,
        freelancers.account_id,
        coalesce(category_medians.category, 'all categories') as category,
        coalesce(main_category.rate, freelancers.hourly_rate_usd) as rate,
        freelancers.country,
        coalesce(country_index.price_index, 1.0) as price_index,
        coalesce(category_medians.median_rate, profile_medians.median_rate)
            * coalesce(country_index.price_index, 1.0) as median_rate
    from freelancers
    left join main_category
        on main_category.night = freelancers.night
        and main_category.account_id = freelancers.account_id
    left join category_medians
        on category_medians.night = main_category.night
        and category_medians.category = main_category.category
    left join profile_medians
        on profile_medians.night = freelancers.night
    left join country_index
        on country_index.night = freelancers.night
        and country_index.country = freelancers.country

),

flagged as (

    select *, rate / median_rate as ratio
    from compared
    where rate > 0 and median_rate > 0
      and rate / median_rate <= {{ th(t, 'max_ratio') }}

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        0.3 + 0.7 * {{ ramp('ratio', th(t, 'max_ratio'), th(t, 'full_ratio')) }} as strength,
        {{ fmt_head("'${:.0f}/h, {:.0f}% of the {} median for {} (${:.0f}/h)'") }},
               {{ round_half_up('rate', 0) }}, {{ round_half_up('100 * ratio', 0) }}, category, coalesce(country, 'any country'),
               {{ round_half_up('median_rate', 0) }}) as evidence,
        ratio,
        {{ round_half_up('price_index', 4) }} as price_index
    from flagged

)

select * from final
