-- How many accounts have used each shingle of template_text, as of each night: one row per
-- shingle and account that used it, on the night the account's first text with it became
-- available (first_night), numbered by (first_night, account_id) up to max_accounts_per_shingle
-- + 1. Only that many are kept: rank 2 is the night a shingle was first on two accounts (it can
-- join two accounts' texts from then on), rank max_accounts_per_shingle + 1 the night it became
-- public boilerplate (ignored from then on). So a shingle's rows stay few however many accounts
-- use it, and a night looks up its new texts' shingles in a small table.
--
-- Counted over every text ever delivered (profile versions, letters), not over the texts still
-- current: a phrase once used by more accounts than an operation runs stays public. This is what
-- makes the count incremental (it only grows); see int_indicator__template_text. Read from
-- int_texts' shingle lists: the inverted index (int_text_shingles) leaves out the shingles this
-- model finds public.
--
-- Incremental: tonight's (shingle, account) pairs not stored yet, numbered after the stored ones
-- of their shingle; a full refresh numbers all of them at once and gives the same rows (a pair
-- missing from a shingle already at the cap is one the cap left out, and stays out).
{{ config(**night_incremental('first_night',
    pre_hook="{% if is_incremental() %}{{ delete_nights_after(this, 'first_night', incremental_bound('first_night')) }}{% endif %}"
)) }}
{%- set keep = (th('template_text', 'max_accounts_per_shingle') | int) + 1 %}

with

-- tonight's texts' shingles (int_texts keeps each text's distinct shingles)
uses as (

    select available_night, account_id, {{ each_of('shingles') }} as shingle
    from {{ ref('int_texts') }}
    where available_night > {{ incremental_bound('first_night') }}
      and available_night <= {{ as_of() }}

),

{%- if is_incremental() %}

stored as (

    select shingle, account_id, account_rank
    from {{ this }}
    where first_night <= {{ incremental_bound('first_night') }}

),

-- a shingle already public gains no row (the cap keeps none): most of a night's shingles are
-- common phrases, dropped here before they are grouped
new_uses as (

    select shingle, account_id, min(available_night) as first_night
    from uses
    anti join (select shingle from stored where account_rank = {{ keep }}) as public using (shingle)
    group by shingle, account_id

),

fresh as (

    select n.* from new_uses as n
    anti join stored as s on s.shingle = n.shingle and s.account_id = n.account_id

),

stored_counts as (

    select shingle, count(*) as stored
    from stored
    semi join fresh using (shingle)
    group by shingle

),

{%- else %}

new_uses as (

    select shingle, account_id, min(available_night) as first_night
    from uses
    group by shingle, account_id

),

fresh as (

    select * from new_uses

),

stored_counts as (

    select cast(null as {{ hash_type() }}) as shingle, 0 as stored
    where false

),

{%- endif %}

-- A shingle's first `keep` accounts (by first night, then id), numbered after the ones stored.
numbered as (

    {{ shingle_first_accounts('fresh', 'stored_counts', keep) }}

)

select shingle, account_id, first_night, cast(account_rank as {{ small_count_type() }}) as account_rank
from numbered
where account_rank <= {{ keep }}
