-- When each night was first processed (written by the pipeline before dbt runs): analysts'
-- decisions made before that time count for the night. Small, hence a view.
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('raw', 'night_clock') }}

),

renamed as (

    select
        export_date as night,
        first_processed_at
    from source

)

select * from renamed
