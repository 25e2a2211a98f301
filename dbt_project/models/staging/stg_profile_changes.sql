-- One row per change_id: the first delivery of each event (late and re-delivered events
-- are kept once). Incremental: reads only the nights not yet processed. Contract 1.1, optional:
-- a platform that never sends the table leaves raw.profile_changes empty and this model empty; the
-- indicators that need it say so (int_data_availability), never a silent zero.
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'profile_changes') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['change_id'], '_export_date, _line') }}

),

renamed as (

    select
        change_id,
        account_id,
        changed_at,
        field,
        old_value_hash,
        new_value_hash,
        changed_at::date as change_day,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
{{ not_delivered_before('change_id', 'changed_at') }}
