-- The nights this run computes: as_of_date, plus any loaded night after the last processed one
-- (every loaded night up to as_of_date on a first run or with --full-refresh). Every
-- intermediate model is computed per night in this list, so an incremental run and a full
-- refresh compute each night from exactly the data known on that night.

with

loaded as (

    select distinct export_date as night
    from {{ source('raw', 'load_files') }}
    where export_date > {{ processed_bound() }}
      and export_date <= {{ as_of() }}

),

tonight as (

    select {{ as_of() }} as night

)

select night from loaded
union
select night from tonight
