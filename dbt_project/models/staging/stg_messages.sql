-- One row per message_id: the first delivery of each event (late and re-delivered events
-- are kept once). Incremental: reads only the nights not yet processed.
{{ config(**night_incremental('export_date')) }}

with

source as (

    select * from {{ source('raw', 'messages') }}
    where _export_date <= {{ as_of() }}
      and _export_date > {{ incremental_bound('export_date') }}

),

latest as (

    {{ first_row_per('source', ['message_id'], '_export_date, _line') }}

),

renamed as (

    select
        message_id,
        thread_id,
        contract_id,
        sender_account_id,
        recipient_account_id,
        sent_at,
        body,
        sent_at::date as message_day,
        _export_date as export_date,
        _load_id as load_id,
        _line as source_line
    from latest

)

select * from renamed
{{ not_delivered_before('message_id', 'sent_at') }}
