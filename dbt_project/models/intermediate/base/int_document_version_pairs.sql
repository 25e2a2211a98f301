-- Matching pairs of identity-document versions, found once, on the night the newer version was
-- delivered: equal document_number_hash, or face / document-image perceptual hashes within
-- var indicator_thresholds.document_reuse.max_hamming_* bits (Hamming distance =
-- bit_count(xor(a, b)) on the 64-bit value of the 16 hex characters).
--
-- Incremental: each night compares only the document versions delivered that night with every
-- version delivered up to then, so a regular night costs (its documents) x (all documents) x
-- 28 / 2^16 candidate pairs, not (all documents)^2; int_document_pairs keeps the pairs whose
-- two versions are still current on a night.
--
-- Blocking: the 64-bit hash is cut into 8 bytes and a candidate pair must agree on 2 of them
-- (28 keys of 16 bits). Two hashes up to 6 bits apart (the cut) touch at most 6 bytes, so
-- they always agree on 2: no pair within the cut is missed. Only a platform's first, full
-- export pays the square (docs/detection.md). A night adds few versions, so its 28 keys go in
-- one join against every version's keys. The first build (no table yet: the first export or a
-- --full-refresh) compares every version with every other: there, one join per pair of bytes
-- keeps each join's hash table at one row per version (900k, not 25M rows): on the 1M
-- platform's first export (900k documents, 2 cores) this model takes 23 s instead of 31 s
-- (docs/benchmark-findings.md, finding 15). Both paths find the same pairs (a unit test for each).
{{ config(**night_incremental('found_night',
    pre_hook="{% if is_incremental() %}{{ delete_nights_after(this, 'found_night', incremental_bound('found_night')) }}{% endif %}"
)) }}
{#- The 28 choices of 2 of the hash's 8 bytes, and each hash kind's cut in bits. -#}
{%- set byte_pairs = [] %}
{%- for i in range(8) %}{% for j in range(i + 1, 8) %}{% do byte_pairs.append((i, j)) %}{% endfor %}{% endfor %}
{%- set max_bits = {'face_phash': th('document_reuse', 'max_hamming_face'),
                    'image_phash': th('document_reuse', 'max_hamming_image')} %}

with

versions as (

    select * from {{ ref('stg_identity_documents') }}
    where export_date <= {{ as_of() }}

),

new_versions as (

    select * from versions
    where export_date > {{ incremental_bound('found_night') }}

),

-- Pair each new version with the versions delivered before it, and with the other new versions
-- of its own night once (the one with the smaller document_id is the earlier).
number_pairs as (

    select
        a.document_id,
        a.export_date,
        b.document_id as linked_document_id,
        b.export_date as linked_export_date,
        'document_number' as link_type,
        a.document_number_hash as link_value,
        0 as distance
    from new_versions as a
    inner join versions as b
        on a.document_number_hash = b.document_number_hash
        and a.account_id <> b.account_id
        and (b.export_date < a.export_date
             or (b.export_date = a.export_date and b.document_id < a.document_id))

),

hashes as (

    -- One row per version and hash, numbered in delivery order: a pair is looked at from its
    -- newer side only (linked hash_id < hash_id), so each is found once.
    select
        row_number() over (order by export_date, document_id, link_type)::integer as hash_id,
        *,
        export_date > {{ incremental_bound('found_night') }} as is_new
    from (
        select document_id, export_date, account_id, 'face_phash' as link_type, face_phash as hex,
               {{ hex_to_u64('face_phash') }} as v
        from versions where face_phash is not null
        union all
        select document_id, export_date, account_id, 'image_phash' as link_type,
               image_phash as hex, {{ hex_to_u64('image_phash') }} as v
        from versions where image_phash is not null
    )

),

{%- if is_incremental() %}

byte_sets as (

    -- every choice of 2 of the hash's 8 bytes: 28 sets, numbered 0-27
    select * from (values
    {%- for i, j in byte_pairs %}
        ({{ i }}, {{ j }}){{ ',' if not loop.last }}
    {%- endfor %}
    ) as t(b1, b2)

),

numbered_sets as (

    select cast(row_number() over (order by b1, b2) as integer) - 1 as set_id, * from byte_sets

),

{%- for link_type in ['face_phash', 'image_phash'] %}

-- Narrow rows (id, hash, one key: the set's number and its 2 bytes) keep the join of a
-- million documents' 28 keys in memory; details are joined back for the candidates.
{{ link_type }}_keys as (

    select
        h.hash_id,
        h.is_new,
        h.v,
        {{ band_key('s.set_id', u64_byte('h.v', 's.b1'), u64_byte('h.v', 's.b2')) }} as band_key
    from hashes as h
    cross join numbered_sets as s
    where h.link_type = '{{ link_type }}'

),

{{ link_type }}_candidates as (

    select distinct
        a.hash_id,
        b.hash_id as linked_hash_id,
        {{ bits_differing('a.v', 'b.v') }} as distance
    from {{ link_type }}_keys as a
    inner join {{ link_type }}_keys as b
        on a.band_key = b.band_key
        and b.hash_id < a.hash_id
    where a.is_new
      and {{ bits_differing('a.v', 'b.v') }} <= {{ max_bits[link_type] }}

),
{%- endfor %}

{%- else %}

{%- for link_type in ['face_phash', 'image_phash'] %}

-- One column per byte of the hash; a candidate pair agrees on both bytes of one of the 28 pairs.
{{ link_type }}_bytes as (

    select
        hash_id,
        v,
        {%- for k in range(8) %}
        cast({{ u64_byte('v', k) }} as smallint) as b{{ k }}{{ ',' if not loop.last }}
        {%- endfor %}
    from hashes
    where link_type = '{{ link_type }}'

),

{{ link_type }}_candidates as (

    select distinct * from (
    {%- for i, j in byte_pairs %}
        select a.hash_id, b.hash_id as linked_hash_id, {{ bits_differing('a.v', 'b.v') }} as distance
        from {{ link_type }}_bytes as a
        inner join {{ link_type }}_bytes as b
            on a.b{{ i }} = b.b{{ i }} and a.b{{ j }} = b.b{{ j }}
            and b.hash_id < a.hash_id
        where {{ bits_differing('a.v', 'b.v') }} <= {{ max_bits[link_type] }}
        {%- if not loop.last %}
        union all
        {%- endif %}
    {%- endfor %}
    )

),
{%- endfor %}

{%- endif %}

hash_pairs as (

    select
        a.document_id,
        a.export_date,
        b.document_id as linked_document_id,
        b.export_date as linked_export_date,
        a.link_type,
        least(a.hex, b.hex) || '~' || greatest(a.hex, b.hex) as link_value,
        c.distance
    from (
        select * from face_phash_candidates
        union all
        select * from image_phash_candidates
    ) as c
    inner join hashes as a on a.hash_id = c.hash_id
    inner join hashes as b on b.hash_id = c.linked_hash_id
    where a.account_id <> b.account_id

),

unioned as (

    select * from number_pairs
    union all
    select * from hash_pairs

)

select
    export_date as found_night,
    document_id,
    export_date,
    linked_document_id,
    linked_export_date,
    link_type,
    link_value,
    distance::integer as distance
from unioned
