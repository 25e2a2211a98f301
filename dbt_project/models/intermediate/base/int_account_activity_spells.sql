-- For dormant_reactivation: one row per account with its current spell of activity, i.e. the
-- days since it last came back after being silent for dormant_days or more, and what is known
-- of it from before that return:
--   last_active_day        last day with any activity known,
--   spell_start_day        first day of the current spell (the return; or the first day ever
--                          known of the account when it never came back),
--   dormant_before_day     last active day before spell_start_day (null: first spell),
--   networks_before_spell  networks (ASN, else country) of its logins before the spell,
--   known_networks         networks of its logins in the current spell,
--   observed_from          the warehouse's first loaded night: activity before it is known only
--                          from the entity rows' own dates (a platform's first full export).
-- Activity: successful logins, work sessions, transactions, contracts (created / updated, both
-- parties), payment methods added, profile changes, and the account's own created_at /
-- updated_at, by UTC day, as delivered.
-- Incremental (a row per account, replaced when the account is active): a night reads its own
-- delivery and the stored rows of the accounts in it, so its cost grows with the night's data
-- and the number of accounts, never with the months of stored events. A row also keeps its
-- values from before the night that wrote it (prev_*), so that re-running that night starts
-- from the same state and gives the same result. A run of several nights (first build, full
-- refresh) takes the latest return of each account over all of them.
{{ config(**night_incremental('account_id')) }}
{%- set t = 'dormant_reactivation' %}
{%- set bound = incremental_bound('updated_night') %}
{%- set max_networks = 100 %}

with

logins as (

    select account_id, login_day as day, export_date, coalesce('AS' || ip_asn::string, ip_country) as network
    from {{ ref('stg_logins') }}
    where success and export_date > {{ bound }} and export_date <= {{ as_of() }}

),

events as (

    select account_id, day, export_date from logins
    union all
    select account_id, session_day, export_date from {{ ref('stg_work_sessions') }}
    where export_date > {{ bound }} and export_date <= {{ as_of() }}
    union all
    select account_id, transaction_day, export_date from {{ ref('stg_transactions') }}
    where export_date > {{ bound }} and export_date <= {{ as_of() }}
    union all
    select account_id, change_day, export_date from {{ ref('stg_profile_changes') }}
    where export_date > {{ bound }} and export_date <= {{ as_of() }}
    union all
    select client_account_id, created_at::date, export_date from {{ ref('stg_contracts') }}
    where export_date > {{ bound }} and export_date <= {{ as_of() }}
    union all
    select freelancer_account_id, updated_at::date, export_date from {{ ref('stg_contracts') }}
    where export_date > {{ bound }} and export_date <= {{ as_of() }}
    union all
    select account_id, added_at::date, export_date from {{ ref('stg_payment_methods') }}
    where export_date > {{ bound }} and export_date <= {{ as_of() }}
    union all
    select account_id, {{ each_of(list_of('created_at::date', 'updated_at::date')) }}, export_date from {{ ref('stg_accounts') }}
    where export_date > {{ bound }} and export_date <= {{ as_of() }}

),

delivered_days as (

    select account_id, day, min(export_date) as delivered_night
    from events
    where account_id is not null and day is not null
    group by account_id, day

),

{%- if is_incremental() %}

-- The state before this run: a row written by a night this run recomputes holds it in prev_*.
prior as (

    select
        s.account_id,
        case when s.updated_night > {{ bound }} then s.prev_last_active_day else s.last_active_day end as last_active_day,
        case when s.updated_night > {{ bound }} then s.prev_spell_start_day else s.spell_start_day end as spell_start_day,
        case when s.updated_night > {{ bound }} then s.prev_dormant_before_day else s.dormant_before_day end as dormant_before_day,
        case when s.updated_night > {{ bound }} then s.prev_networks_before_spell else s.networks_before_spell end as networks_before_spell,
        case when s.updated_night > {{ bound }} then s.prev_known_networks else s.known_networks end as known_networks
    from {{ this }} as s
    semi join delivered_days as d on d.account_id = s.account_id
    -- a row with no state before its night (first seen then) holds nulls in prev_*
    where not (s.updated_night > {{ bound }} and s.prev_last_active_day is null)

),

{%- else %}

prior as (

    select
        null::string as account_id,
        null::date as last_active_day,
        null::date as spell_start_day,
        null::date as dormant_before_day,
        cast(null as {{ list_type('string') }}) as networks_before_spell,
        cast(null as {{ list_type('string') }}) as known_networks
    where false

),

{%- endif %}

{#- The state is computed twice from the run's rows: from those delivered before the night
    (what a re-run of the night starts from: kept in prev_*) and from all of them. A run of one
    night computes the first from nothing but the prior state. #}
{%- for v, cond in [('before', 'delivered_night < ' ~ as_of()), ('now', 'true')] %}

-- The run's days ({{ v }}), after the last day known before it (the anchor), with the gap before each.
days_{{ v }} as (

    select account_id, day, bool_and(is_anchor) as is_anchor
    from (
        -- a day delivered again or late, not after the last day already known, is no return
        -- (entity rows re-sent with their old dates: created_at, a payment method's added_at)
        select d.account_id, d.day, false as is_anchor
        from delivered_days as d
        left join prior on prior.account_id = d.account_id
        where {{ cond }}
          and (prior.last_active_day is null or d.day > prior.last_active_day)
        union all
        select account_id, last_active_day, true from prior where last_active_day is not null
    )
    group by account_id, day

),

-- The latest return (a day after dormant_days or more without activity).
returns_{{ v }} as (

    select account_id, day as return_day, previous_day
    from (
        select *, lag(day) over (partition by account_id order by day) as previous_day
        from days_{{ v }}
    )
    where not is_anchor
      and previous_day is not null
      and {{ diff_units('day', 'previous_day', 'day') }} >= {{ th(t, 'dormant_days') }}
    qualify row_number() over (partition by account_id order by day desc) = 1

),

per_account_{{ v }} as (

    select account_id, max(day) as last_delivered_day, min(day) as first_delivered_day
    from delivered_days
    where {{ cond }}
    group by account_id

),

networks_{{ v }} as (

    select
        l.account_id,
        {{ list_distinct("coalesce(" ~ list_agg('l.network') ~ " filter (where r.return_day is null or l.day < r.return_day), " ~ empty_list('string') ~ ")") }} as before_return,
        {{ list_distinct("coalesce(" ~ list_agg('l.network') ~ " filter (where r.return_day is not null and l.day >= r.return_day), " ~ empty_list('string') ~ ")") }} as since_return
    from logins as l
    left join returns_{{ v }} as r on r.account_id = l.account_id
    where l.network is not null
      and {{ cond | replace('delivered_night', 'l.export_date') }}
    group by l.account_id

),

state_{{ v }} as (

    select
        p.account_id,
        greatest(prior.last_active_day, p.last_delivered_day) as last_active_day,
        case
            when r.return_day is not null then r.return_day
            when prior.account_id is not null then prior.spell_start_day
            else p.first_delivered_day
        end as spell_start_day,
        case
            when r.return_day is not null then r.previous_day
            when prior.account_id is not null then prior.dormant_before_day
        end as dormant_before_day,
        {%- set empty = empty_list('string') %}
        {{ list_head(list_sorted('''case
            when r.return_day is not null
                then ''' ~ list_distinct(list_concat('coalesce(prior.networks_before_spell, ' ~ empty ~ ')', 'coalesce(prior.known_networks, ' ~ empty ~ ')', 'coalesce(n.before_return, ' ~ empty ~ ')')) ~ '''
            else coalesce(prior.networks_before_spell, ''' ~ empty ~ ''')
        end'''), max_networks) }} as networks_before_spell,
        {{ list_head(list_sorted('''case
            when r.return_day is not null then coalesce(n.since_return, ''' ~ empty ~ ''')
            else ''' ~ list_distinct(list_concat('coalesce(prior.known_networks, ' ~ empty ~ ')', 'coalesce(n.before_return, ' ~ empty ~ ')')) ~ '''
        end'''), max_networks) }} as known_networks
    from per_account_{{ v }} as p
    left join prior on prior.account_id = p.account_id
    left join returns_{{ v }} as r on r.account_id = p.account_id
    left join networks_{{ v }} as n on n.account_id = p.account_id

),
{%- endfor %}

final as (

    select
        now.account_id,
        now.last_active_day,
        now.spell_start_day,
        now.dormant_before_day,
        now.networks_before_spell,
        now.known_networks,
        (select min(export_date) from {{ source('raw', 'load_files') }}) as observed_from,
        {{ as_of() }} as updated_night,
        -- the state before the night {{ as_of() }}: the run's earlier nights, else the prior state
        coalesce(b.last_active_day, prior.last_active_day) as prev_last_active_day,
        case when b.account_id is not null then b.spell_start_day else prior.spell_start_day end as prev_spell_start_day,
        case when b.account_id is not null then b.dormant_before_day else prior.dormant_before_day end as prev_dormant_before_day,
        case when b.account_id is not null then b.networks_before_spell else prior.networks_before_spell end as prev_networks_before_spell,
        case when b.account_id is not null then b.known_networks else prior.known_networks end as prev_known_networks
    from state_now as now
    left join state_before as b on b.account_id = now.account_id
    left join prior on prior.account_id = now.account_id

)

select * from final
