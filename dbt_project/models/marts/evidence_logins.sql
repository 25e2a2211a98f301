-- Logins of the last 30 nights of every account with an indicator hit in that time: the raw
-- evidence behind network indicators, for the dashboard's account page.
-- Incremental, as a difference: the rows are immutable (one delivery per login, stg_logins),
-- so a night inserts the window's rows not yet stored (tonight's logins, and the whole window of
-- a newly flagged account), and the post-hook deletes the stored rows that left the window (a
-- day past 30 nights, an account without a hit in them, a delivery after the night). Stored and
-- rebuilt tables hold the same rows, and a night writes its change, not 30 nights of logins.
-- The table's comment names the night it holds (set by the post-hook, in the same
-- transaction): from an earlier night M, a row of tonight's window is new exactly when it was
-- outside M's window (delivered after M, a day outside M's 30, an account without a hit in M's
-- 30 nights). Without a known earlier night, new rows are found by login_id.
-- With M known, the new rows are read in three disjoint parts, not by joining the whole window
-- (84M logins on the 1M-account platform) to every flagged account: the logins delivered after
-- M (tonight's), those M delivered for a day after it, and the window of the accounts flagged
-- tonight that M did not hold (3,455 of 227,158 there). The post-hook deletes, besides the days
-- that left, the accounts flagged on M and no longer, not every account without a hit.
-- On Spark, whose Parquet tables cannot delete rows, the table is rebuilt from the window each
-- night (one scan of 30 nights of logins, spread over the cluster).
{%- set stored_night = evidence_stored_night(this) if is_incremental() else none %}
{%- if target.type == 'spark' %}
{{ config(materialized='table') }}
{%- else %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook=["
        {%- set m = evidence_stored_night(this) %}
        delete from {{ this }} as stored
        where stored.login_day not between {{ as_of() }} - 29 and {{ as_of() }}
           or stored.export_date > {{ as_of() }}
        {%- if m %}
           or stored.account_id in (
               select account_id from {{ ref('account_indicator_hits') }}
               where as_of_date between date '{{ m }}' - 29 and date '{{ m }}'
               except
               select account_id from {{ ref('account_indicator_hits') }}
               where as_of_date between {{ as_of() }} - 29 and {{ as_of() }})
        {%- else %}
           or stored.account_id not in (
               select account_id from {{ ref('account_indicator_hits') }}
               where as_of_date between {{ as_of() }} - 29 and {{ as_of() }})
        {%- endif %}",
        "comment on table {{ this }} is 'evidence as of {{ as_of_date() }}'"]
) }}
{%- endif %}

with

flagged as (

    select
        account_id,
        {%- if stored_night %}
        bool_or(as_of_date between date '{{ stored_night }}' - 29 and date '{{ stored_night }}')
        {%- else %}
        false
        {%- endif %} as flagged_on_stored_night
    from {{ ref('account_indicator_hits') }}
    where as_of_date between {{ as_of() }} - 29 and {{ as_of() }}
    {%- if stored_night %}
       or as_of_date between date '{{ stored_night }}' - 29 and date '{{ stored_night }}'
    {%- endif %}
    group by account_id
    having bool_or(as_of_date between {{ as_of() }} - 29 and {{ as_of() }})

),

{%- if stored_night %}
{%- set m = "date '" ~ stored_night ~ "'" %}

-- delivered after M (tonight), of every account flagged tonight
delivered_since as (

    select l.*
    from {{ ref('stg_logins') }} as l
    semi join flagged on flagged.account_id = l.account_id
    where l.export_date > {{ m }} and l.export_date <= {{ as_of() }}
      and l.login_day between {{ as_of() }} - 29 and {{ as_of() }}

),

-- delivered by M for a day after M (an export may hold events of the day after its night)
days_since as (

    select l.*
    from {{ ref('stg_logins') }} as l
    semi join flagged on flagged.account_id = l.account_id
    where l.export_date <= {{ m }}
      and l.login_day > {{ m }} and l.login_day <= {{ as_of() }}

),

-- the rest of the window, of the accounts M did not hold
newly_flagged as (

    select l.*
    from {{ ref('stg_logins') }} as l
    semi join flagged
        on flagged.account_id = l.account_id and not flagged.flagged_on_stored_night
    where l.export_date <= {{ m }}
      and l.login_day between {{ as_of() }} - 29 and {{ m }}

),

logins as (

    select * from delivered_since
    union all
    select * from days_since
    union all
    select * from newly_flagged

),
{%- else %}

logins as (

    select l.*
    from {{ ref('stg_logins') }} as l
    semi join flagged on flagged.account_id = l.account_id
    where l.login_day between {{ as_of() }} - 29 and {{ as_of() }}
      and l.export_date <= {{ as_of() }}

),
{%- endif %}

evidence as (

    select
        account_id,
        login_id,
        ts,
        ip,
        ip_country,
        ip_asn,
        ip_kind,
        device_id,
        user_agent,
        success,
        login_day,
        export_date
    from logins

)

select * from evidence
{%- if is_incremental() and not stored_night %}
where not exists (select 1 from {{ this }} as stored where stored.login_id = evidence.login_id)
{%- endif %}
