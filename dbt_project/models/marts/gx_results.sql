-- Great Expectations results per night, suite and expectation (from raw.gx_results).

select export_date, suite, expectation, column_name, success, unexpected_count, details
from {{ source('raw', 'gx_results') }}
