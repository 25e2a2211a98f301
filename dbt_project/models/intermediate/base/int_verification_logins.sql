-- The successful logins handover_after_verification reads, kept as they arrive: a login of an
-- account that had no approved identity document on the login's delivery night (its first
-- approval may still come: the logins before it are the verified person's footprint), or one
-- within before_days before to after_days after the account's first approval as known on that
-- night. The rest (most logins of accounts verified long ago) can never be read by it. On the
-- 1M-account benchmark platform a night keeps about a fifth of its logins, so the indicator reads
-- a fifth of its 60-day window instead of every login in it.
-- Bound: the first approval of an account is taken as known when each login arrives; if it later
-- moves (a late document approved earlier, an approval revoked), the logins that fell outside
-- the old window and arrived before the move are not here, and the new window is judged on the
-- others. A rebuild applies the same rule per delivery night, so it stores the same rows.
-- Incremental: a night adds the kept logins of its own delivery.
{{ config(**night_incremental('export_date')) }}
{%- set t = 'handover_after_verification' %}

with

logins as (

    select *
    from {{ ref('stg_logins') }}
    where success
      and export_date <= {{ as_of() }}
      and export_date > {{ incremental_bound('export_date') }}

),

-- each account's first approval as known on each night of this run (the delivery nights of the
-- logins above)
first_approvals as (

    select night, account_id, min(coalesce(verified_at, submitted_at)) as verified_ts
    from {{ ref('int_identity_documents__as_of') }}
    where verification_status = 'approved'
    group by night, account_id

),

kept as (

    select l.*
    from logins as l
    left join first_approvals as f
        on f.night = l.export_date and f.account_id = l.account_id
    where f.verified_ts is null
       or (l.ts >= f.verified_ts - ({{ th(t, 'before_days') }}) * interval 1 day
           and l.ts <= f.verified_ts + ({{ th(t, 'after_days') }}) * interval 1 day)

)

select * from kept
-- stored in day order, so that a window's login_day bound skips the older row groups (zone maps)
-- after a first build or a full refresh, which write every night at once
order by login_day, account_id
