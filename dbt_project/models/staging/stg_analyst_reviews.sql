-- Analysts' review decisions (filled by the pipeline from the dashboard's review store before
-- dbt runs). Small and rewritten as a whole, hence a view.
{{ config(materialized='view') }}

with

source as (

    select * from {{ source('raw', 'analyst_reviews') }}

),

renamed as (

    select
        account_id,
        lower(trim(status)) as status,
        note,
        author,
        decided_at
    from source
    where account_id is not null and decided_at is not null

)

select * from renamed
