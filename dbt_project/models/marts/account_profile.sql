-- One row per account, latest version, with the names on its identity documents and payout
-- accounts (for comparing against the profile).

with

accounts as (

    select * from {{ ref('int_accounts__as_of') }}
    where night = {{ as_of() }}

),

documents as (

    select account_id, {{ agg_text("holder_name", "', '", "holder_name", distinct=true) }} as document_holder_names
    from {{ ref('int_identity_documents__as_of') }}
    where night = {{ as_of() }}
    group by account_id

),

payouts as (

    select account_id, {{ agg_text("holder_name", "', '", "holder_name", distinct=true) }} as payout_holder_names
    from {{ ref('int_payment_methods__as_of') }}
    where night = {{ as_of() }} and holder_name is not null
    group by account_id

)

select
    accounts.account_id,
    accounts.account_type,
    accounts.created_at,
    accounts.updated_at,
    accounts.display_name,
    accounts.email_hash,
    accounts.email_domain,
    accounts.phone_hash,
    accounts.phone_line_type,
    accounts.country,
    accounts.timezone,
    -- DECIMAL as staged on DuckDB; Spark reads the raw layer's decimals as doubles
    cast(accounts.hourly_rate_usd as decimal(18, 4)) as hourly_rate_usd,
    cast(accounts.lifetime_hours as decimal(18, 4)) as lifetime_hours,
    accounts.status,
    documents.document_holder_names,
    payouts.payout_holder_names
from accounts
left join documents on documents.account_id = accounts.account_id
left join payouts on payouts.account_id = accounts.account_id
