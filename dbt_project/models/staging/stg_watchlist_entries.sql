-- Analysts' watchlist entries (copied by the pipeline from the watchlist store before dbt runs,
-- itw_radar.watchlists.export_to_warehouse), with what the indicator matches on: an ip_cidr
-- entry's family and first and last address as numbers (macro ip_to_int), an asn entry's
-- number, a wallet_address entry's SHA-256 of the lower-cased address. Small and rewritten as a
-- whole, hence a view.
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('raw', 'watchlist_entries') }}

),

renamed as (

    select
        entry_id,
        lower(trim(list_type)) as list_type,
        trim(value) as value,
        source,
        reason,
        added_by,
        added_at,
        expires_at,
        case when lower(trim(list_type)) = 'ip_cidr' then split_part(trim(value), '/', 1) end as ip_network,
        case when lower(trim(list_type)) = 'ip_cidr'
             then coalesce(try_cast(nullif(split_part(trim(value), '/', 2), '') as integer),
                           case when instr(value, ':') > 0 then 128 else 32 end) end as ip_prefix,
        case when lower(trim(list_type)) = 'asn' then try_cast(trim(value) as bigint) end as asn,
        case when lower(trim(list_type)) = 'wallet_address' then {{ sha256_hex('lower(trim(value))') }} end as wallet_sha256
    from source
    where entry_id is not null and value is not null

),

ranged as (

    select
        renamed.*,
        {{ ip_family('ip_network') }} as ip_family,
        {{ ip_to_int('ip_network') }} as ip_lo
    from renamed

),

final as (

    select
        entry_id,
        list_type,
        value,
        source,
        reason,
        added_by,
        added_at,
        expires_at,
        ip_family,
        ip_prefix,
        ip_lo,
        case when ip_family is not null and ip_prefix between 1 and (case ip_family when 4 then 32 else 128 end)
             then {{ ip_range_end('ip_lo', 'ip_family', 'ip_prefix') }}
        end as ip_hi,
        asn,
        wallet_sha256
    from ranged

)

select * from final
