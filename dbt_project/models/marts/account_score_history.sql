-- Score and tier per account and night, for accounts scoring above 0 (history; incremental).
{{ config(**night_incremental('as_of_date')) }}

select
    night as as_of_date,
    account_id,
    risk_score,
    risk_tier
from {{ ref('int_account_risk') }}
where risk_score > 0
