-- Pairs of accounts whose identity documents are the same or near-identical, per night:
-- equal document_number_hash, or face / document-image perceptual hashes within a few bits
-- (Hamming distance = bit_count(xor(a, b)) on the 64-bit value of the 16 hex characters).
-- Blocking (LSH): the hash, rotated by each offset of var phash_lsh_rotations, is cut into 8
-- bytes and a candidate pair must agree on 2 of them (28 keys of 16 bits per rotation): every
-- pair within 6 bits is found, ~94% of pairs 10 bits apart, and random pairs rarely collide
-- (a 16-bit key), so the candidate set stays small for millions of documents. One row per
-- direction.

with

docs as (

    select * from {{ ref('int_identity_documents__as_of') }}

),

number_pairs as (

    select distinct
        a.night,
        a.account_id,
        b.account_id as linked_account_id,
        'document_number' as link_type,
        a.document_number_hash as link_value,
        0 as distance
    from docs as a
    inner join docs as b
        on a.night = b.night
        and a.document_number_hash = b.document_number_hash
        and a.account_id <> b.account_id

),

hashes as (

    select night, account_id, 'face_phash' as link_type, face_phash as hex,
           ('0x' || face_phash)::ubigint as v
    from docs where face_phash is not null
    union all
    select night, account_id, 'image_phash' as link_type, image_phash as hex,
           ('0x' || image_phash)::ubigint as v
    from docs where image_phash is not null

),

band_pairs as (

    select r.rotation, i.range as i, j.range as j
    from (values {% for r in var('phash_lsh_rotations') %}({{ r }}){% if not loop.last %}, {% endif %}{% endfor %}) as r(rotation),
         range(8) as i,
         range(8) as j
    where i.range < j.range

),

rotated as (

    select
        hashes.*,
        r.rotation,
        case when r.rotation = 0 then hashes.v
             else (hashes.v >> r.rotation::ubigint)
                  | ((hashes.v & ((1::ubigint << r.rotation::ubigint) - 1::ubigint))
                     << (64 - r.rotation)::ubigint)
        end as w
    from hashes
    cross join (select distinct rotation from band_pairs) as r

),

keyed as (

    select
        rotated.*,
        band_pairs.i,
        band_pairs.j,
        (((w >> (8 * band_pairs.i)::ubigint) & 255::ubigint) << 8::ubigint)
            | ((w >> (8 * band_pairs.j)::ubigint) & 255::ubigint) as band_key
    from rotated
    inner join band_pairs on band_pairs.rotation = rotated.rotation

),

candidates as (

    select distinct
        a.night,
        a.account_id,
        b.account_id as linked_account_id,
        a.link_type,
        a.hex,
        b.hex as linked_hex,
        bit_count(xor(a.v, b.v)) as distance
    from keyed as a
    inner join keyed as b
        on a.night = b.night
        and a.link_type = b.link_type
        and a.rotation = b.rotation
        and a.i = b.i
        and a.j = b.j
        and a.band_key = b.band_key
        and a.account_id <> b.account_id

),

phash_pairs as (

    select
        night,
        account_id,
        linked_account_id,
        link_type,
        least(hex, linked_hex) || '~' || greatest(hex, linked_hex) as link_value,
        distance
    from candidates
    where distance <= case link_type
        when 'face_phash' then {{ th('document_reuse', 'max_hamming_face') }}
        else {{ th('document_reuse', 'max_hamming_image') }}
    end

),

unioned as (

    select * from number_pairs
    union all
    select * from phash_pairs

)

select
    night,
    account_id,
    linked_account_id,
    link_type,
    link_value,
    min(distance)::integer as distance
from unioned
group by night, account_id, linked_account_id, link_type, link_value
