-- proxy_account: the freelancer is paid to an account that is not its verified identity's
-- (holder name unlike every name on its identity documents, or a country that is neither its
-- claimed nor its documents'), or to a payout account shared with other freelancers. Holder
-- names that look like a company (var company_name_pattern) are a weaker sign: agencies are
-- paid to their company account.
{%- set t = 'proxy_account' %}

with

freelancers as (

    select night, account_id, country
    from {{ ref('int_accounts__as_of') }}
    where account_type = 'freelancer'

),

payout_methods as (

    select pm.*
    from {{ ref('int_payment_methods__as_of') }} as pm
    inner join freelancers
        on freelancers.night = pm.night and freelancers.account_id = pm.account_id
    where pm.is_active

),

documents as (

    select night, account_id, holder_name, issuing_country
    from {{ ref('int_identity_documents__as_of') }}
    where verification_status <> 'rejected'

),

normalised_names as (

    select
        night,
        account_id,
        issuing_country,
        {{ list_text(name_tokens('holder_name'), "' '") }} as name_key,
        {{ name_tokens('holder_name') }} as name_words
    from documents

),

name_checks as (

    select
        pm.night,
        pm.account_id,
        pm.payment_method_id,
        pm.fingerprint,
        pm.holder_name,
        pm.country as payout_country,
        freelancers.country as claimed_country,
        {{ re_match("coalesce(pm.holder_name, '')", "'" ~ var("company_name_pattern") ~ "'") }} as company_holder,
        -- the sorted names' similarity, or 1 when the names are compatible token by token
        -- (an initial, a dropped second surname, accents written or not)
        max(case when {{ names_compatible('pm.payout_words', 'names.name_words') }} then 1.0
                 else {{ jaro_winkler('pm.payout_key', 'names.name_key') }}
            end) as best_similarity,
        count(names.name_key) as document_names,
        bool_or(names.issuing_country = pm.country) as country_matches_document,
        min(names.name_key) as identity_name
    from (
        select
            payout_methods.*,
            {{ name_tokens('holder_name') }} as payout_words,
            {{ list_text(name_tokens('holder_name'), "' '") }} as payout_key
        from payout_methods
    ) as pm
    inner join freelancers
        on freelancers.night = pm.night and freelancers.account_id = pm.account_id
    left join normalised_names as names
        on names.night = pm.night and names.account_id = pm.account_id
    group by all

),

shared_fingerprints as (

    select
        pm.night,
        pm.fingerprint,
        count(distinct pm.account_id) as freelancers
    from payout_methods as pm
    group by pm.night, pm.fingerprint
    having count(distinct pm.account_id) >= {{ th(t, 'shared_min_freelancers') }}
       and count(distinct pm.account_id) <= {{ th(t, 'shared_max_accounts') }}

),

per_method as (

    select
        name_checks.*,
        coalesce(shared_fingerprints.freelancers, 0) as sharing_freelancers,
        (document_names > 0 and holder_name is not null
            and best_similarity < {{ th(t, 'name_similarity') }}) as name_mismatch,
        (payout_country is not null and payout_country <> claimed_country
            and not coalesce(country_matches_document, false)) as country_mismatch,
        -- An agency: its staff are paid to the company's own account in the country where
        -- they live and hold their identity documents. A front company abroad is not.
        (company_holder
            and payout_country is not null
            and (payout_country = claimed_country or coalesce(country_matches_document, false))
        ) as agency_payout,
        -- The account's own name is on the payout account (a joint account with a partner).
        (document_names > 0 and holder_name is not null
            and best_similarity >= {{ th(t, 'name_similarity') }}) as own_name
    from name_checks
    left join shared_fingerprints
        on shared_fingerprints.night = name_checks.night
        and shared_fingerprints.fingerprint = name_checks.fingerprint

),

scored as (

    select
        *,
        case when agency_payout then {{ th(t, 'agency_strength') }}
        else round(1 - (1 - case when name_mismatch then (case when company_holder then 0.2 else 0.6 end) else 0 end)
          * (1 - case when country_mismatch then 0.4 else 0 end)
          * (1 - case when sharing_freelancers > 0
                      then (case when own_name then {{ th(t, 'own_name_shared_strength') }}
                                 when company_holder then 0.3 else 0.5 end)
                           + 0.3 * {{ ramp('sharing_freelancers', th(t, 'shared_min_freelancers'), th(t, 'shared_min_freelancers') ~ ' + 3') }}
                      else 0 end), 4)
        end as method_strength
    from per_method

),

best as (

    select * from scored
    where method_strength > 0
    qualify row_number() over (
        partition by night, account_id order by method_strength desc, payment_method_id
    ) = 1

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        method_strength as strength,
        concat_ws('; ',
            -- no names in evidence: reasons reach every page and export, names only the
            -- Account page's masked profile (revealed with a log entry)
            case when name_mismatch then {{ fmt_head("'payout account {} held under a name the identity documents do not carry (both names on the Account page)'") }}, payment_method_id) end,
            case when country_mismatch then {{ fmt_head("'payout account in {} (claimed {})'") }}, payout_country, claimed_country) end,
            case when sharing_freelancers > 0 then {{ fmt_head("'payout account shared by {} freelancers'") }}, sharing_freelancers) end,
            case when agency_payout then {{ fmt_head("'company payout account {} in {}, the country of the identity (an agency, counted weakly)'") }}, payment_method_id, payout_country)
                 when own_name and sharing_freelancers > 0 then {{ sql_text("in the account's own name (counted weakly)") }} end
        ) as evidence
    from best

)

select * from final
