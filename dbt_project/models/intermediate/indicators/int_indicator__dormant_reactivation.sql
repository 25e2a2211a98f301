-- dormant_reactivation: an account silent for months comes back as someone else (SEAL
-- Frameworks case studies: long-dormant real accounts hijacked or bought, their history reused
-- to pass account-age checks). A return: the first activity after dormant_days (180) or more
-- without any (int_account_activity_spells: logins, sessions, transactions, contracts, payment
-- methods, profile changes, the account's own dates; before the warehouse's first night only
-- the entity rows' dates of the first full export are known, so the silence must also have been
-- watched for min_observed_days (3: events arrive up to 3 days late) in the warehouse itself:
-- on a first export every account active in the first nights looks silent since its last
-- recorded change; after that, the changes below decide).
-- Within return_window_days of the return, at least min_changes of:
--   new networks      every login (at least min_logins) from networks (ASN, else country) the
--                     account never used before; with no earlier logins known, every login
--                     from another country than the claimed one;
--   payout            a payment method added since the return;
--   identity fields   profile_changes of display_name, email, phone or payout_holder_name (1.1;
--                     absent on 1.0 exports: then this one cannot count);
--   new categories    contracts in categories it never worked in (it must have worked some).
-- legit_returning_user (a new device, the same country and ISP, no identity change) has none
-- or one: it does not fire. Every account type (a client's payment method counts as a payout).
-- Cost: the state rows whose return lies in the window (one row per account, filtered on
-- spell_start_day), and the window's logins and profile changes of those accounts only; the
-- state itself is kept incrementally from each night's delivery (see its model).
{%- set t = 'dormant_reactivation' %}
{%- set window = th(t, 'return_window_days') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

returns as (

    select
        nights.night,
        s.account_id,
        s.spell_start_day as return_day,
        s.dormant_before_day,
        {{ diff_units('day', 's.dormant_before_day', 's.spell_start_day') }} as silent_days,
        s.dormant_before_day < s.observed_from as last_seen_in_first_export,
        s.networks_before_spell
    from nights
    inner join {{ ref('int_account_activity_spells') }} as s
        on s.spell_start_day between nights.night - {{ window }} and nights.night
    where s.dormant_before_day is not null
      and {{ diff_units('day', 's.dormant_before_day', 's.spell_start_day') }} >= {{ th(t, 'dormant_days') }}
      and {{ diff_units('day', 'greatest(s.dormant_before_day, s.observed_from)', 's.spell_start_day') }} >= {{ th(t, 'min_observed_days') }}

),

accounts as (

    select night, account_id, country as claimed_country
    from {{ ref('int_accounts__as_of') }}
    semi join returns using (night, account_id)

),

logins as (

    select
        returns.night,
        returns.account_id,
        coalesce('AS' || l.ip_asn::string, l.ip_country) as network,
        case
            when {{ list_size('coalesce(returns.networks_before_spell, ' ~ empty_list('string') ~ ')') }} > 0
                then not array_contains(returns.networks_before_spell, coalesce('AS' || l.ip_asn::string, l.ip_country))
            when l.ip_country is not null and accounts.claimed_country is not null
                then l.ip_country <> accounts.claimed_country
        end as is_new
    from returns
    inner join {{ ref('stg_logins') }} as l
        on l.account_id = returns.account_id
        and l.export_date <= returns.night
        and l.login_day between returns.night - {{ window }} and returns.night
        and {{ after_window_start('l.login_day', window) }}
        and l.login_day between returns.return_day and returns.return_day + {{ window }}
    left join accounts
        on accounts.night = returns.night and accounts.account_id = returns.account_id
    where l.success

),

network_check as (

    select
        night,
        account_id,
        count(*) as logins,
        count(is_new) as judged,
        count(*) filter (where is_new) as new_logins,
        {{ sorted_set_agg('network', "is_new") }} as new_networks
    from logins
    group by night, account_id

),

payouts as (

    select
        returns.night,
        returns.account_id,
        count(*) as methods,
        {%- set method_text %}{{ fmt_head("'{} ({}, {})'") }}, pm.payment_method_id, pm.method_type, {{ ts_text("pm.added_at", 'date') }}){% endset %}
        {{ agg_text(method_text, "', '", "pm.added_at, pm.payment_method_id") }} as listed
    from returns
    inner join {{ ref('int_payment_methods__as_of') }} as pm
        on pm.night = returns.night and pm.account_id = returns.account_id
    where pm.added_at::date between returns.return_day and returns.return_day + {{ window }}
    group by all

),

identity_changes as (

    select
        returns.night,
        returns.account_id,
        count(*) as changes,
        {{ agg_text("pc.field", "', '", "pc.field", distinct=true) }} as fields
    from returns
    inner join {{ ref('stg_profile_changes') }} as pc
        on pc.account_id = returns.account_id
        and pc.export_date <= returns.night
        and pc.change_day between returns.night - {{ window }} and returns.night
        and {{ after_window_start('pc.change_day', window) }}
        and pc.change_day between returns.return_day and returns.return_day + {{ window }}
    where pc.field in ('display_name', 'email', 'phone', 'payout_holder_name')
    group by all

),

categories as (

    select
        returns.night,
        returns.account_id,
        {{ sorted_set_agg('c.category', "c.created_at::date < returns.return_day") }} as before,
        {{ sorted_set_agg('c.category', 'c.created_at::date between returns.return_day and returns.return_day + ' ~ window) }} as since
    from returns
    inner join {{ ref('int_contracts__as_of') }} as c
        on c.night = returns.night and c.freelancer_account_id = returns.account_id
    where c.category is not null
    group by all

),

judged as (

    select
        returns.*,
        n.logins,
        n.new_logins,
        n.new_networks,
        coalesce(n.judged >= {{ th(t, 'min_logins') }} and n.new_logins = n.judged, false) as new_networks_only,
        p.methods is not null as new_payout,
        p.listed as payouts_listed,
        i.changes is not null as identity_changed,
        i.fields as changed_fields,
        {{ list_size('c.before') }} > 0 and {{ list_size(list_where('c.since', 'x', 'not array_contains(c.before, x)')) }} > 0 as new_categories,
        {{ list_where('c.since', 'x', 'not array_contains(c.before, x)') }} as new_category_list,
        c.before as before_categories
    from returns
    left join network_check as n on n.night = returns.night and n.account_id = returns.account_id
    left join payouts as p on p.night = returns.night and p.account_id = returns.account_id
    left join identity_changes as i on i.night = returns.night and i.account_id = returns.account_id
    left join categories as c on c.night = returns.night and c.account_id = returns.account_id

),

counted as (

    select
        *,
        new_networks_only::int + new_payout::int + identity_changed::int
            + coalesce(new_categories, false)::int as changes
    from judged

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        round(least(1.0, {{ th(t, 'two_changes_strength') }}
                         + 0.2 * (changes - {{ th(t, 'min_changes') }})), 4)::double as strength,
        {{ fmt_head("'silent {} days (last activity {}{}, back {}); since: {}'") }}, silent_days, dormant_before_day,
               case when last_seen_in_first_export then {{ sql_text(" in the first export's records") }} else '' end,
               return_day,
               concat_ws('; ',
                   case when new_networks_only then {{ fmt_head("'all {} logins from networks {} ({})'") }}, logins,
                        {{ list_text(list_head('new_networks', 5), "','") }},
                        case when {{ list_size('coalesce(networks_before_spell, ' ~ empty_list('string') ~ ')') }} > 0
                             then 'before: ' || {{ list_text(list_head('networks_before_spell', 5), "','") }}
                             else 'none known before; not the claimed country' end) end,
                   case when new_payout then 'payment methods added ' || payouts_listed end,
                   case when identity_changed then 'profile changes of ' || changed_fields end,
                   case when new_categories then {{ fmt_head("'contracts in new categories {} (before: {})'") }},
                        {{ list_text('new_category_list', "', '") }}, {{ list_text('before_categories', "', '") }}) end)
        ) as evidence,
        changes,
        silent_days
    from counted
    where changes >= {{ th(t, 'min_changes') }}

)

select * from final
