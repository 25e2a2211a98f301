-- Rows the loader rejected, with where and why (from raw.quarantine). No load id: it changes on
-- every load, and re-running a night must not change a mart.

select export_date, table_name, file_name, line, column_name, rule, reason, record
from {{ source('raw', 'quarantine') }}
