-- Per night and file: rows in the manifest, loaded and quarantined (from raw.load_files).
-- The load id is left out: it changes on every load, and re-running a night must not change a mart.

select export_date, table_name, file_name, rows_expected, rows_loaded, rows_quarantined
from {{ source('raw', 'load_files') }}
