-- Near-identical pairs of template_text's texts (different accounts), each found once, on the
-- first night computed at or after the later of its two texts became available (found_night):
-- Jaccard similarity >= min_similarity of the two texts' whole shingle sets, counting as common
-- only the shingles not public on that night, with >= min_shared_shingles of those; both texts counting on that night
-- (the profile text version current on it; a letter in its window and among its account's latest
-- distinct letters: macro template_text_current_letters). The later text is text_id, the earlier
-- other_text_id (ties of a night: by text_id).
--
-- Incremental: a night looks up only its new texts' shingles that are on 2 to
-- max_accounts_per_shingle accounts (int_text_shingle_accounts) in the inverted index
-- (int_text_shingles): it compares the night's texts with the few texts sharing a rare shingle
-- with them, never all texts with all (the stored index is probed with hash joins, not
-- recomputed). Its nights are int_nights' (from processed_bound(), not this table's latest
-- found_night: a night without pairs stores nothing), the nights int_accounts__as_of holds to
-- tell which profile version is current. A full refresh finds each
-- pair on the same night with the same numbers, since everything a pair is judged on is known
-- as of its found_night. The pair is not judged again later: int_indicator__template_text keeps
-- the stored pairs whose two texts still count on its night.
{{ config(**night_incremental('found_night',
    pre_hook="{% if is_incremental() %}{{ delete_nights_after(this, 'found_night', processed_bound()) }}{% endif %}"
)) }}
{%- set t = 'template_text' %}
{%- set cap = th(t, 'max_accounts_per_shingle') | int %}

with

-- the nights of this run; a text is new on the first of them on or after its available_night
nights as (

    select night, coalesce(lag(night) over (order by night), {{ processed_bound() }}) as after
    from {{ ref('int_nights') }}

),

texts as (

    select * from {{ ref('int_texts') }}

),

new_texts as (

    select n.night as found_night, t.text_id, t.account_id, t.available_night
    from texts as t
    inner join nights as n
        on t.available_night > n.after and t.available_night <= n.night
    where t.available_night > {{ processed_bound() }}

),

-- the nights a shingle was first on two accounts and on more than max_accounts_per_shingle
shingle_accounts as (

    select * from {{ ref('int_text_shingle_accounts') }}

),

shared_since as (

    select shingle, first_night as shared_night
    from shingle_accounts
    where account_rank = 2

),

public_since as (

    select shingle, first_night as public_night
    from shingle_accounts
    where account_rank = {{ cap + 1 }}

),

-- the new texts' shingles that can join them to another account's text on their found night
-- (the index is read directly, not through a CTE: DuckDB materialises a CTE used twice, which
-- read the whole index every night)
rare_new as (

    select n.found_night, n.text_id, n.account_id, n.available_night, s.shingle
    from {{ ref('int_text_shingles') }} as s
    inner join new_texts as n on n.text_id = s.text_id
    inner join shared_since as r
        on r.shingle = s.shingle and r.shared_night <= n.found_night
    anti join public_since as p
        on p.shingle = s.shingle and p.public_night <= n.found_night
    where s.available_night > {{ processed_bound() }}

),

-- every earlier text of another account sharing them, with the number shared (the intersection:
-- a shingle two accounts share and not public is exactly such a rare shingle)
candidates as (

    select a.found_night, a.text_id, b.text_id as other_text_id, count(*) as shared
    from rare_new as a
    inner join {{ ref('int_text_shingles') }} as b
        on b.shingle = a.shingle
        and b.account_id <> a.account_id
        and b.until_night >= a.found_night
        and (b.available_night < a.available_night
             or (b.available_night = a.available_night and b.text_id < a.text_id))
    group by a.found_night, a.text_id, b.text_id
    having count(*) >= {{ th(t, 'min_shared_shingles') }}

),

-- the texts that count on each found night
current_letters as (

    {{ template_text_current_letters('(select distinct found_night as night from candidates)') }}

),

current_profiles as (

    select a.night, a.account_id, a.export_date
    from {{ ref('int_accounts__as_of') }} as a
    where a.night in (select found_night from candidates)

),

judged as (

    select
        c.found_night,
        c.text_id,
        a.account_id,
        a.kind,
        a.kind || ' ' || a.text_ref as text_label,
        c.other_text_id,
        b.account_id as other_account_id,
        b.kind as other_kind,
        b.kind || ' ' || b.text_ref as other_text_label,
        c.shared::integer as shared,
        -- over the texts' whole shingle sets, with only non-public shingles counted as shared:
        -- two texts assembled from common phrases share a few rare ones by chance (10 of 23
        -- shingles), which a Jaccard over the rare shingles alone would call identical (0.9);
        -- public phrases make texts less alike here, never more
        c.shared / (a.size + b.size - c.shared)::double as similarity,
        a.version_date,
        b.version_date as other_version_date
    from candidates as c
    inner join texts as a on a.text_id = c.text_id
    inner join texts as b on b.text_id = c.other_text_id

),

-- the two sides of the judged pairs, and those that count on the found night (equi-joins only:
-- a correlated check per pair made DuckDB pick a plan of minutes)
sides as (

    select found_night, text_id, account_id, version_date from judged
    union
    select found_night, other_text_id, other_account_id, other_version_date from judged

),

counting_sides as (

    {{ template_text_counting_texts('sides', 'current_profiles', 'current_letters', 'found_night') }}

),

counting as (

    select j.*
    from judged as j
    semi join counting_sides as a on a.found_night = j.found_night and a.text_id = j.text_id
    semi join counting_sides as b on b.found_night = j.found_night and b.text_id = j.other_text_id
    where j.similarity >= {{ th(t, 'min_similarity') }}

)

select * from counting
