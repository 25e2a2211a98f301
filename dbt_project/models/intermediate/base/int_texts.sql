-- Texts of template_text, each cut into word 3-shingles once, on the night it became available:
-- one row per profile-text version (stg_accounts, a version's export_date) and per cover letter
-- (stg_proposals, the later of its export_date and submitted_day: the indicator's 30-day letter
-- window starts on the submitted day). Only texts of at least min_words words are kept; a letter
-- delivered after its window had passed (submitted_day <= available_night - lookback_days) is
-- never compared and is left out.
--
-- Words: lower case, runs of letters and digits (any script). Shingles: the distinct 64-bit
-- hashes of three consecutive words (the same as the first version of the indicator).
--
-- Incremental: a night cuts only the texts it delivered (a few thousand on a regular night of a
-- large platform), never the whole history: int_text_shingles, int_text_shingle_accounts and
-- int_text_pairs carry the work from here (see int_indicator__template_text).
{{ config(**night_incremental('available_night',
    pre_hook="{% if is_incremental() %}{{ delete_nights_after(this, 'available_night', incremental_bound('available_night')) }}{% endif %}"
)) }}
{%- set t = 'template_text' %}
{%- set days = th(t, 'lookback_days') %}

with

profiles as (

    select
        export_date as available_night,
        'profile ' || account_id || ' of ' || export_date as text_id,
        account_id,
        'profile' as kind,
        account_id as text_ref,
        export_date as version_date,
        updated_at as written_at,
        null::date as submitted_day,
        date '9999-12-31' as until_night,
        profile_text as body
    from {{ ref('stg_accounts') }}
    where profile_text is not null
      and export_date <= {{ as_of() }}
      and export_date > {{ incremental_bound('available_night') }}

),

letters as (

    select
        greatest(export_date, submitted_day) as available_night,
        'cover letter ' || proposal_id as text_id,
        freelancer_account_id as account_id,
        'cover letter' as kind,
        proposal_id as text_ref,
        null::date as version_date,
        submitted_at as written_at,
        submitted_day,
        -- the last night whose window holds it
        submitted_day + {{ days }} - 1 as until_night,
        cover_letter as body
    from {{ ref('stg_proposals') }}
    where cover_letter is not null
      -- an event is delivered on or after its day, at most a day early (GX): a letter that
      -- becomes available after the bound was delivered on or after it (a zone-map filter)
      and export_date >= {{ incremental_bound('available_night') }}
      and greatest(export_date, submitted_day) > {{ incremental_bound('available_night') }}
      and greatest(export_date, submitted_day) <= {{ as_of() }}
      and submitted_day > greatest(export_date, submitted_day) - {{ days }}

),

-- the words once: the filter on their number below would otherwise split every text twice
worded as {{ materialized_cte() }} (

    select
        {{ all_but('body') }},
        {{ list_where(re_split('lower(body)', "'[^\\p{L}\\p{N}]+'"), 'w', 'length(w) > 0') }} as words
    from (
        select * from profiles
        union all
        select * from letters
    )

),

shingled as (

    select
        {{ all_but('words') }},
        {{ hash64('words') }} as text_hash,
        {{ list_distinct(list_map(
            int_range(1, list_size('words') ~ ' - 1'), 'i',
            hash64(list_at('words', 'i') ~ " || ' ' || " ~ list_at('words', 'i + 1') ~ " || ' ' || " ~ list_at('words', 'i + 2'))
        )) }} as shingles
    from worded
    where {{ list_size('words') }} >= {{ th(t, 'min_words') }}

)

select
    available_night,
    text_id,
    account_id,
    kind,
    text_ref,
    version_date,
    written_at,
    submitted_day,
    until_night,
    text_hash,
    cast({{ list_size('shingles') }} as integer) as size,
    shingles
from shingled
