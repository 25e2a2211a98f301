-- Inverted index of template_text's texts: one row per text of int_texts and distinct shingle
-- that is not public boilerplate when the text becomes available, stored on the text's
-- available_night. A night adds only its new texts' shingles; a new text is looked up here by
-- shingle (int_text_pairs). until_night (the last night a letter's window holds it; 9999-12-31
-- for profile texts) drops the letters that can no longer count.
--
-- A shingle public by then (on more than max_accounts_per_shingle accounts:
-- int_text_shingle_accounts, which counts tonight's texts too) can never join two texts again,
-- since public is for good: its rows would only be stored and scanned. Most of a night's
-- shingles are common phrases, so the index holds a fraction of them. A full refresh leaves out
-- the same rows (each by its own available_night).
{{ config(**night_incremental('available_night',
    pre_hook="{% if is_incremental() %}{{ delete_nights_after(this, 'available_night', incremental_bound('available_night')) }}{% endif %}"
)) }}
{%- set keep = (th('template_text', 'max_accounts_per_shingle') | int) + 1 %}

with

postings as (

    select available_night, until_night, text_id, account_id, {{ each_of('shingles') }} as shingle
    from {{ ref('int_texts') }}
    where available_night > {{ incremental_bound('available_night') }}
      and available_night <= {{ as_of() }}

),

public as (

    select shingle, first_night as public_night
    from {{ ref('int_text_shingle_accounts') }}
    where account_rank = {{ keep }}
      and first_night <= {{ as_of() }}

)

select p.available_night, p.until_night, p.text_id, p.account_id, p.shingle
from postings as p
anti join public on public.shingle = p.shingle and public.public_night <= p.available_night
