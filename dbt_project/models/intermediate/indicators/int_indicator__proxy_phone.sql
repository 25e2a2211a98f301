-- proxy_phone: the verification phone is a VoIP number, or one phone number verifies several
-- accounts (up to shared_max_accounts; more looks like a platform test or support number).
{%- set t = 'proxy_phone' %}

with

accounts as (

    select night, account_id, phone_hash, phone_line_type
    from {{ ref('int_accounts__as_of') }}

),

shared_phones as (

    select night, phone_hash, count(distinct account_id) as accounts
    from accounts
    where phone_hash is not null
    group by night, phone_hash
    having count(distinct account_id) between 2 and {{ th(t, 'shared_max_accounts') }}

),

checked as (

    select
        accounts.*,
        coalesce(shared_phones.accounts, 0) as phone_accounts,
        accounts.phone_line_type = 'voip' as is_voip
    from accounts
    left join shared_phones
        on shared_phones.night = accounts.night
        and shared_phones.phone_hash = accounts.phone_hash

),

final as (

    select
        night,
        account_id,
        '{{ t }}' as indicator_id,
        1 - (1 - case when is_voip then 0.5 else 0 end)
          * (1 - case when phone_accounts >= 2
                      then 0.4 + 0.6 * {{ ramp('phone_accounts', 2, 4) }} else 0 end) as strength,
        concat_ws('; ',
            case when is_voip then 'verification phone is a VoIP number' end,
            case when phone_accounts >= 2 then {{ fmt_head("'same verification phone on {} accounts'") }}, phone_accounts) end
        ) as evidence,
        phone_accounts,
        -- one own mobile number shared by a few accounts (no VoIP) is a household's phone: the
        -- same fact as a shared line or laptop (sign group co_location), not a second sign
        case when not is_voip and phone_accounts >= 2 then 'co_location' end as sign_group
    from checked
    where is_voip or phone_accounts >= 2

)

select * from final
