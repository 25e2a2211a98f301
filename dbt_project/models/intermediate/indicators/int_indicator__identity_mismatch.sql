-- identity_mismatch: the countries an account shows do not fit one life. Four countries, each
-- taken once per account so that one source cannot outvote the others:
--   document  issuing_country of its identity document (latest approved, else latest pending;
--             rejected documents are not its identity),
--   claimed   accounts.country,
--   payout    country of its active payment method added last (freelancers: a client's card is
--             often its employer's, so a client is judged on the other three),
--   login     dominant country of its successful logins from residential or mobile networks in
--             the window (VPN / hosting / Tor / unknown or null ip_kind excluded: they say
--             nothing about where a person is), when one country holds min_login_share of them.
-- Fires when
--   (a) at least min_countries (3) of the known ones differ: no single life (an expat has two:
--       a document from home, everything else where they live), or
--   (b) document and login countries agree with each other but with neither the claimed nor the
--       payout country: the person visibly lives where the document is from and presents a
--       different life on the platform.
-- A document from A with claimed, payout and logins all in B (legit_expat) never fires; a
-- traveller's or nomad's logins spread over countries (no dominant one) or sit in one foreign
-- country with everything else at home (two countries): neither fires. No country is judged by
-- itself (never nationality alone: GTIG Apr 2025 persona drift, SEAL "not stereotypes").
-- Missing values (no document, no payout method, no residential logins, 1.0 exports without
-- ip_kind) are left out of the comparison, never treated as a mismatch. Every account type.
-- Cost: one grouped pass over the window's successful logins (lookback_days) plus the as_of
-- entity rows of the night.
{%- set t = 'identity_mismatch' %}

with

nights as (

    select night from {{ ref('int_nights') }}

),

accounts as (

    select night, account_id, account_type, country as claimed_country
    from {{ ref('int_accounts__as_of') }}

),

documents as (

    select night, account_id, document_id, issuing_country, document_type
    from {{ ref('int_identity_documents__as_of') }}
    where verification_status in ('approved', 'pending')
      and issuing_country is not null
    qualify row_number() over (
        partition by night, account_id
        order by verification_status = 'approved' desc,
                 coalesce(verified_at, submitted_at) desc, document_id desc
    ) = 1

),

payouts as (

    select night, account_id, payment_method_id, method_type, country as payout_country
    from {{ ref('int_payment_methods__as_of') }} as pm
    -- a freelancer's payout account; a client's card is often its employer's (not its life)
    semi join accounts
        on accounts.night = pm.night and accounts.account_id = pm.account_id
        and accounts.account_type = 'freelancer'
    where is_active and country is not null
    qualify row_number() over (
        partition by night, account_id order by added_at desc, payment_method_id desc
    ) = 1

),

login_countries as (

    select nights.night, l.account_id, l.ip_country, count(*) as logins
    from nights
    inner join {{ ref('stg_logins') }} as l
        on l.export_date <= nights.night
        and l.login_day between nights.night - {{ th(t, 'lookback_days') }} and nights.night
        and {{ after_window_start('l.login_day', th(t, 'lookback_days')) }}
    where l.success
      and l.ip_kind in ('residential', 'mobile')
      and l.ip_country is not null
    group by all

),

dominant_login as (

    select
        night,
        account_id,
        ip_country as login_country,
        logins as country_logins,
        sum(logins) over (partition by night, account_id) as home_logins
    from login_countries
    qualify row_number() over (
        partition by night, account_id order by logins desc, ip_country
    ) = 1

),

countries as (

    select
        accounts.night,
        accounts.account_id,
        documents.document_id,
        documents.document_type,
        documents.issuing_country as document_country,
        accounts.claimed_country,
        payouts.payment_method_id,
        payouts.method_type,
        payouts.payout_country,
        case when dominant_login.home_logins >= {{ th(t, 'min_logins') }}
                  and dominant_login.country_logins >= {{ th(t, 'min_login_share') }} * dominant_login.home_logins
             then dominant_login.login_country end as login_country,
        dominant_login.country_logins,
        dominant_login.home_logins
    from accounts
    left join documents
        on documents.night = accounts.night and documents.account_id = accounts.account_id
    left join payouts
        on payouts.night = accounts.night and payouts.account_id = accounts.account_id
    left join dominant_login
        on dominant_login.night = accounts.night and dominant_login.account_id = accounts.account_id

),

judged as (

    select
        *,
        {{ list_size(list_distinct(list_where(
            list_of('document_country', 'claimed_country', 'payout_country', 'login_country'),
            'x', 'x is not null'))) }} as distinct_countries,
        (document_country is not null and login_country is not null
            and claimed_country is not null and payout_country is not null
            and document_country = login_country
            and document_country <> claimed_country
            and document_country <> payout_country) as document_and_logins_elsewhere
    from countries

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        round(greatest(
            case when distinct_countries >= {{ th(t, 'min_countries') }}
                 then {{ th(t, 'three_countries_strength') }}
                      + (1 - {{ th(t, 'three_countries_strength') }})
                        * {{ ramp('distinct_countries', th(t, 'min_countries'), 4) }}
                 else 0 end,
            case when document_and_logins_elsewhere then {{ th(t, 'document_logins_strength') }} else 0 end
        ), 4) as strength,
        concat_ws('; ',
            {{ fmt_head("'{} countries: document {} ({}) from {}, claimed {}, payout {} ({}) in {}, logins: {}'") }},
                   distinct_countries,
                   coalesce(document_id, 'none'), coalesce(document_type, '-'), coalesce(document_country, '?'),
                   claimed_country,
                   coalesce(payment_method_id, 'none'), coalesce(method_type, '-'), coalesce(payout_country, '?'),
                   case when login_country is not null
                        then {{ fmt_head("'{} of {} home/mobile logins in {} days from {}'") }},
                                    country_logins, home_logins, {{ th(t, 'lookback_days') }}, login_country)
                        else 'without a dominant home/mobile country' end),
            case when document_and_logins_elsewhere
                 then 'document and logins agree with each other, not with the claimed and payout countries' end
        ) as evidence,
        distinct_countries,
        document_country,
        claimed_country,
        payout_country,
        login_country
    from judged
    where distinct_countries >= {{ th(t, 'min_countries') }}
       or document_and_logins_elsewhere

)

select * from final
