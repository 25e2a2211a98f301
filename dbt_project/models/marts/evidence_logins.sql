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
{%- set stored_night = none %}
{%- if is_incremental() and execute and not (model is mapping and model.get('resource_type') == 'unit_test') %}
    {%- set found = run_query("select comment from duckdb_tables() where database_name = '" ~ this.database ~ "' and schema_name = '" ~ this.schema ~ "' and table_name = '" ~ this.identifier ~ "'") %}
    {%- set comment = found.columns[0].values()[0] if found.rows | length > 0 else none %}
    {%- if comment and comment.startswith('evidence as of ') and comment[15:25] < as_of_date() %}
        {%- set stored_night = comment[15:25] %}
    {%- endif %}
{%- endif %}
{{ config(
    materialized='incremental',
    incremental_strategy='append',
    on_schema_change='fail',
    post_hook=["
        delete from {{ this }} as stored
        where stored.login_day not between {{ as_of() }} - 29 and {{ as_of() }}
           or stored.export_date > {{ as_of() }}
           or stored.account_id not in (
               select account_id from {{ ref('account_indicator_hits') }}
               where as_of_date between {{ as_of() }} - 29 and {{ as_of() }})",
        "comment on table {{ this }} is 'evidence as of {{ as_of_date() }}'"]
) }}

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

logins as (

    select * from {{ ref('stg_logins') }}
    where login_day between {{ as_of() }} - 29 and {{ as_of() }}
      and export_date <= {{ as_of() }}

),

evidence as (

    select
        logins.account_id,
        logins.login_id,
        logins.ts,
        logins.ip,
        logins.ip_country,
        logins.ip_asn,
        logins.ip_kind,
        logins.device_id,
        logins.user_agent,
        logins.success,
        logins.login_day,
        logins.export_date,
        flagged.flagged_on_stored_night
    from logins
    inner join flagged on flagged.account_id = logins.account_id

)

select * exclude (flagged_on_stored_night) from evidence
{%- if stored_night %}
where evidence.export_date > date '{{ stored_night }}'
   or evidence.login_day not between date '{{ stored_night }}' - 29 and date '{{ stored_night }}'
   or not evidence.flagged_on_stored_night
{%- elif is_incremental() %}
where not exists (select 1 from {{ this }} as stored where stored.login_id = evidence.login_id)
{%- endif %}
