-- proposal_spray: proposals at a volume and across unrelated job categories and clients that no
-- single freelancer sustains: in the window, at least min_proposals proposals AND
-- min_categories distinct job categories AND min_clients distinct clients. A prolific genuine
-- bidder sends many proposals in the one or two categories of their skill. Contract 1.1 data:
-- a platform that sends no proposals gets no rows here, and the catalog's `requires` column
-- ('proposals') tells the dashboard that the sign could not be looked for (not a zero).
{%- set t = 'proposal_spray' %}
{%- set days = th(t, 'lookback_days') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

proposals as (

    select
        nights.night,
        p.proposal_id,
        p.freelancer_account_id as account_id,
        p.client_account_id,
        p.job_category,
        p.submitted_at
    from nights
    inner join {{ ref('stg_proposals') }} as p
        on p.export_date <= nights.night
        and p.submitted_day between nights.night - {{ days }} + 1 and nights.night
        and {{ after_window_start('p.submitted_day', days) }}

),

per_account as (

    select
        night,
        account_id,
        count(*) as proposals,
        count(distinct job_category) as categories,
        count(distinct client_account_id) as clients,
        -- the first and the last proposal of the window (ties by id: the same in every run)
        min_by(proposal_id, (submitted_at, proposal_id)) as first_proposal,
        max_by(proposal_id, (submitted_at, proposal_id)) as last_proposal
    from proposals
    group by night, account_id
    having count(*) >= {{ th(t, 'min_proposals') }}
       and count(distinct job_category) >= {{ th(t, 'min_categories') }}
       and count(distinct client_account_id) >= {{ th(t, 'min_clients') }}

),

-- the categories with their counts, largest first, for the evidence
category_counts as (

    select night, account_id, job_category, count(*) as n
    from proposals
    semi join per_account as a on a.night = proposals.night and a.account_id = proposals.account_id
    where job_category is not null
    group by night, account_id, job_category

),

category_lists as (

    select
        night,
        account_id,
        {%- set category_count %}{{ fmt_head("'{} {}'") }}, job_category, n){% endset %}
        {{ agg_text(category_count, "', '", "n desc, job_category") }} as category_list
    from category_counts
    group by night, account_id

),

final as (

    select
        a.night,
        a.account_id,
        '{{ t }}' as indicator_id,
        0.4 + 0.3 * {{ ramp('a.proposals', th(t, 'min_proposals'), th(t, 'full_proposals')) }}
            + 0.3 * {{ ramp('a.categories', th(t, 'min_categories'), th(t, 'full_categories')) }} as strength,
        {{ fmt_head("'{} proposals in {} days to {} distinct clients across {} job categories ({}); proposals {} .. {}'") }},
               a.proposals, {{ days }}, a.clients, a.categories, c.category_list,
               a.first_proposal, a.last_proposal) as evidence,
        a.proposals,
        a.categories,
        a.clients
    from per_account as a
    inner join category_lists as c on c.night = a.night and c.account_id = a.account_id

)

select * from final
