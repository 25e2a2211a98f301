-- Rows the loader rejected, with where and why (from raw.quarantine).

select export_date, load_id, table_name, file_name, line, column_name, rule, reason, record
from {{ source('raw', 'quarantine') }}
