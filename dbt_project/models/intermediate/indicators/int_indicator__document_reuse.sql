-- document_reuse: the account's identity document has the same number as another account's,
-- or a near-identical portrait or document image (see int_document_pairs).
{%- set t = 'document_reuse' %}

with

pairs as (

    select * from {{ ref('int_document_pairs') }}

),

per_account as (

    select
        night,
        account_id,
        max(case link_type
                when 'document_number' then 1.0
                when 'face_phash' then case when distance <= 4 then 0.9 else 0.8 end
                else case when distance <= 4 then 0.8 else 0.6 end
            end) as strength,
        count(distinct linked_account_id) as other_accounts,
        string_agg(distinct case link_type
                when 'document_number' then 'same document number'
                when 'face_phash' then 'near-identical portrait'
                else 'near-identical document image' end, ', ') as kinds,
        min(linked_account_id) as example_account,
        min(distance) filter (where link_type <> 'document_number') as min_bits
    from pairs
    group by night, account_id

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        strength,
        {{ fmt_head("'{} as {} other account(s), e.g. {}{}'") }}, kinds, other_accounts, example_account,
               case when min_bits is not null then {{ fmt_head("' (closest image {} of 64 bits apart)'") }}, min_bits) else '' end) as evidence,
        other_accounts
    from per_account

)

select * from final
