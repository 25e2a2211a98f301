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
--
-- Cost at platform scale: pairs are never enumerated blindly. Only texts sharing a rare
-- shingle (on 2 to max_accounts_per_shingle accounts) are compared, and the intersection of
-- two texts of different accounts consists of exactly such shingles, so one join on them
-- gives every candidate pair with its intersection. A shingle joins at most
-- max_accounts_per_shingle accounts, each with its profile text and its latest
-- max_letters_per_account distinct letters. Texts come from the window only: profile texts as
-- they stand on the night, cover letters of the last lookback_days days.
--
-- Contract 1.1 data (accounts.profile_text, proposals.cover_letter): a platform that sends
-- neither gets no rows; the catalog's `requires` says the sign could not be looked for.
{%- set t = 'template_text' %}
{%- set days = th(t, 'lookback_days') %}
{%- set cap = th(t, 'max_accounts_per_shingle') %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

profiles as (

    select
        night,
        account_id,
        'profile' as kind,
        account_id as text_ref,
        profile_text as body,
        null::timestamp as written_at
    from {{ ref('int_accounts__as_of') }}
    where profile_text is not null

),

letters as (

    select
        nights.night,
        p.freelancer_account_id as account_id,
        'cover letter' as kind,
        p.proposal_id as text_ref,
        p.cover_letter as body,
        p.submitted_at as written_at
    from nights
    inner join {{ ref('stg_proposals') }} as p
        on p.export_date <= nights.night
        and p.submitted_day between nights.night - {{ days }} + 1 and nights.night
        and {{ after_window_start('p.submitted_day', days) }}
    where p.cover_letter is not null

),

-- words: lower case, runs of letters and digits (any script)
{%- for src in ['profiles', 'letters'] %}

{{ src }}_worded as (

    select
        night,
        account_id,
        kind,
        text_ref,
        written_at,
        list_filter(
            regexp_split_to_array(lower(body), '[^\p{L}\p{N}]+'),
            lambda w: length(w) > 0
        ) as words
    from {{ src }}

),
{%- endfor %}

-- texts long enough to judge: every profile text (one per account), and an account's latest
-- max_letters_per_account distinct letters (a letter sent twice is one text; ties by id)
texts as (

    select night, account_id, kind || ' ' || text_ref as text_id, words
    from profiles_worded
    where len(words) >= {{ th(t, 'min_words') }}

    union all

    select night, account_id, kind || ' ' || text_ref as text_id, words
    from (
        select *
        from letters_worded
        where len(words) >= {{ th(t, 'min_words') }}
        qualify row_number() over (
            partition by night, account_id, hash(words) order by written_at desc, text_ref
        ) = 1
    ) as distinct_letters
    qualify row_number() over (
        partition by night, account_id order by written_at desc, text_ref
    ) <= {{ th(t, 'max_letters_per_account') }}

),

-- one row per text and distinct shingle (64-bit hash of the three words)
shingles as materialized (

    select
        night,
        account_id,
        text_id,
        unnest(list_distinct(list_transform(
            range(1, len(words) - 1),
            lambda i: hash(words[i] || ' ' || words[i + 1] || ' ' || words[i + 2])
        ))) as shingle
    from texts

),

-- accounts per shingle: 2..cap is rare (can match), more is public boilerplate
shingle_accounts as (

    select night, shingle, count(distinct account_id) as accounts
    from shingles
    group by night, shingle

),

-- each text's set size without the public shingles
text_sizes as (

    select s.night, s.text_id, any_value(s.account_id) as account_id, count(*) as size
    from shingles as s
    anti join shingle_accounts as p
        on p.night = s.night and p.shingle = s.shingle and p.accounts > {{ cap }}
    group by s.night, s.text_id

),

-- the rare shingles of each text, with the text's set size (carried along so that the pairs
-- need no further join)
rare as (

    select s.night, s.account_id, s.text_id, s.shingle, z.size
    from shingles as s
    semi join shingle_accounts as r
        on r.night = s.night and r.shingle = s.shingle
        and r.accounts between 2 and {{ cap }}
    inner join text_sizes as z on z.night = s.night and z.text_id = s.text_id

),

pairs as (

    select
        a.night,
        a.account_id,
        a.text_id,
        b.account_id as other_account_id,
        b.text_id as other_text_id,
        count(*) as shared,
        count(*) / (a.size + b.size - count(*))::double as similarity
    from rare as a
    inner join rare as b
        on b.night = a.night and b.shingle = a.shingle and b.account_id <> a.account_id
    group by a.night, a.account_id, a.text_id, a.size, b.account_id, b.text_id, b.size
    having count(*) >= {{ th(t, 'min_shared_shingles') }}
       and count(*) / (a.size + b.size - count(*))::double >= {{ th(t, 'min_similarity') }}

),

-- per account and other account: the most similar pair of texts (ties: by ids)
per_other as (

    select
        night,
        account_id,
        other_account_id,
        max(similarity) as similarity,
        arg_max(format('{} ~ {} of {} (Jaccard {:.2f}, {} shared 3-word shingles)',
                       text_id, other_text_id, other_account_id, similarity, shared),
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
        arg_max(example, (similarity, other_account_id)) as best_example,
        string_agg(other_account_id, ', ' order by similarity desc, other_account_id) as others
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
        format('{} text pair(s) near-identical to those of {} other account(s) ({}); closest: {}',
               text_pairs, other_accounts, others, best_example) as evidence,
        other_accounts,
        round(best_similarity, 3) as best_similarity
    from per_account

)

select * from final
