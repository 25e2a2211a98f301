-- One row per processed night: the latest load of the night and every pipeline step logged for
-- it (raw.load_log). A night is failed when any of its steps failed. Written before this
-- night's dbt and publish steps are logged: the publish step refreshes it.

with

log as (

    select * from {{ source('raw', 'load_log') }}

),

latest_load as (

    select export_date, load_id, started_at as load_started_at
    from log
    where step = 'load'
    qualify row_number() over (partition by export_date order by started_at desc, load_id desc) = 1

),

steps as (

    select log.*
    from log
    inner join latest_load
        on latest_load.export_date = log.export_date
        and (log.load_id = latest_load.load_id or log.started_at >= latest_load.load_started_at)

),

final as (

    select
        export_date,
        case when bool_or(status <> 'success') then 'failed' else 'success' end as status,
        min(started_at) as started_at,
        max(finished_at) as finished_at,
        coalesce(max(rows_loaded) filter (where step = 'load'), 0)::bigint as rows_loaded,
        coalesce(max(rows_quarantined) filter (where step = 'load'), 0)::bigint as rows_quarantined,
        max_by(error, started_at) filter (where error is not null) as error,
        coalesce(max_by(summary, started_at) filter (where step = 'summarise'),
                 max_by(summary, started_at) filter (where step = 'load')) as summary
    from steps
    group by export_date

)

select * from final
