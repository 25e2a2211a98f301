-- template_text: near-identical profile texts or cover letters on different accounts: one
-- operator writing many personas from one template. Texts of at least min_words words are cut
-- into word 3-shingles (lower case, letters and digits only); two texts of different accounts
-- match when the Jaccard similarity of their shingle sets is at least min_similarity, with at
-- least min_shared_shingles in common.
--
-- Public boilerplate ("I am a passionate full stack developer with 5 years of experience") is
-- on many unrelated accounts: a shingle found on more than max_accounts_per_shingle accounts
-- is public and left out of both texts' sets, so texts that share only boilerplate do not
-- match. The same account reusing its own letter is normal: pairs are between accounts.
-- Texts: profile texts as they stand on the night, and an account's latest
-- max_letters_per_account distinct cover letters of the last lookback_days days.
--
-- Cost follows the night's new texts, not the accounts or the history (project rule): each
-- text is cut into shingles once, on the night it arrives (int_texts, int_text_shingles), and
-- compared once, then, with the earlier texts sharing a rare shingle with it (int_text_pairs,
-- through the inverted index and the per-shingle account counts of
-- int_text_shingle_accounts). This model only reads the stored pairs whose two texts still
-- count on its night (the current profile version; a letter still in its window and among its
-- account's latest distinct letters) and the window's letters; a text counting on a night
-- counted on every night since it arrived, so no pair of two counting texts is missed.
-- Measured (synthetic 200k-account platform, DuckDB, 2 shared cores, 2026-12-06): the first,
-- full night 19 s for the five models (the texts' tokenising 7 s, the shingle account counts
-- 8 s); a regular night with ~3,000 new profile versions and ~3,000 letters 2-3 s, where
-- comparing every text again took 12 s every night. What still grows with the history is
-- reading the stored index (hash probes over int_text_shingles and int_text_shingle_accounts,
-- column scans), not cutting or comparing texts.
--
-- What incrementality changes against comparing all texts again every night (choices):
-- - a shingle's accounts are counted over every text ever delivered up to a night (profile
--   versions and letters, also those no longer counting), not over the night's current texts:
--   the count only grows, so a night needs only its new texts' shingles looked up. A phrase
--   once on more than max_accounts_per_shingle accounts stays public.
-- - a pair is judged once, with the public shingles of its found_night (int_text_pairs); a
--   shingle that becomes public later does not undo (or make) a stored pair. The pair stays
--   while both texts count and drops out when either is replaced or leaves the window.
-- A full refresh and the nightly runs give the same pairs (each judged on the same night with
-- the same data), so the same rows here.
--
-- Contract 1.1 data (accounts.profile_text, proposals.cover_letter): a platform that sends
-- neither gets no rows; the catalog's `requires` says the sign could not be looked for.
{%- set t = 'template_text' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

-- the texts that count on each night
current_letters as (

    {{ template_text_current_letters('nights') }}

),

current_profiles as (

    -- a version without a (long enough) text has no stored pairs: no need to read the text
    select night, account_id, export_date
    from {{ ref('int_accounts__as_of') }}

),

stored as (

    select n.night, p.*
    from nights as n
    inner join {{ ref('int_text_pairs') }} as p on p.found_night <= n.night

),

-- the pairs' texts that count on the night (equi-joins only)
sides as (

    select night, text_id, account_id, version_date from stored
    union
    select night, other_text_id, other_account_id, other_version_date from stored

),

counting_sides as (

    {{ template_text_counting_texts('sides', 'current_profiles', 'current_letters') }}

),

-- stored pairs whose two texts count on the night
counting as (

    select p.*
    from stored as p
    semi join counting_sides as a on a.night = p.night and a.text_id = p.text_id
    semi join counting_sides as b on b.night = p.night and b.text_id = p.other_text_id

),

-- both directions: each account with each other account's text
pairs as (

    select
        night,
        account_id,
        text_label as text_id,
        other_account_id,
        other_text_label as other_text_id,
        shared,
        similarity
    from counting

    union all

    select
        night,
        other_account_id,
        other_text_label,
        account_id,
        text_label,
        shared,
        similarity
    from counting

),

-- per account and other account: the most similar pair of texts (ties: by ids)
per_other as (

    select
        night,
        account_id,
        other_account_id,
        max(similarity) as similarity,
        max_by({{ fmt_head("'{} ~ {} of {} (Jaccard {:.2f}, {} shared 3-word shingles)'") }},
                       text_id, other_text_id, other_account_id, {{ round_half_up('similarity', 2) }}, shared),
                (similarity, shared, text_id, other_text_id)) as example,
        count(*) as text_pairs
    from pairs
    group by night, account_id, other_account_id

),

per_account as (

    select
        night,
        account_id,
        count(*) as other_accounts,
        max(similarity) as best_similarity,
        sum(text_pairs) as text_pairs,
        max_by(example, (similarity, other_account_id)) as best_example,
        {{ agg_text("other_account_id", "', '", "similarity desc, other_account_id") }} as others
    from per_other
    group by night, account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        0.4 + 0.3 * {{ ramp('best_similarity', th(t, 'min_similarity'), th(t, 'full_similarity')) }}
            + 0.3 * {{ ramp('other_accounts', 1, th(t, 'full_accounts')) }} as strength,
        {{ fmt_head("'{} text pair(s) near-identical to those of {} other account(s) ({}); closest: {}'") }},
               text_pairs, other_accounts, others, best_example) as evidence,
        other_accounts,
        round(best_similarity, 3) as best_similarity
    from per_account

)

select * from final
