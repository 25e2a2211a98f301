-- One row per account, indicator and night it fired (history; incremental by night).
{{ config(**night_incremental('as_of_date',
    on_schema_change='append_new_columns')) }}

select
    as_of_date,
    account_id,
    indicator_id,
    strength,
    points,
    evidence,
    sign_group
from {{ ref('int_indicator_hits') }}
