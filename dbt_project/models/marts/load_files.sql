-- Per night and file: rows in the manifest, loaded and quarantined (from raw.load_files).

select export_date, load_id, table_name, file_name, rows_expected, rows_loaded, rows_quarantined
from {{ source('raw', 'load_files') }}
