-- Inverted index of template_text's texts: one row per text of int_texts and distinct shingle,
-- stored on the text's available_night. A night adds only its new texts' shingles; a new text is
-- looked up here by shingle (int_text_pairs). until_night (the last night a letter's window holds
-- it; 9999-12-31 for profile texts) drops the letters that can no longer count.
{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key='available_night',
    pre_hook="{% if is_incremental() %}delete from {{ this }} where available_night > {{ incremental_bound('available_night') }}{% endif %}"
) }}

select
    available_night,
    until_night,
    text_id,
    account_id,
    unnest(shingles) as shingle
from {{ ref('int_texts') }}
where available_night > {{ incremental_bound('available_night') }}
  and available_night <= {{ as_of() }}
