select
    event_date,
    count(*) filter (where is_login_failure) as login_failures,
    count(*) filter (where is_lockout) as lockouts,
    count(distinct email) filter (where is_login_failure) as distinct_accounts,
    count(distinct client_ip) filter (where is_login_failure) as distinct_ips,
    coalesce(
        count(*) filter (where is_login_failure)
        / nullif(count(*) filter (where is_login_event), 0)::double, 0) as failure_share
from {{ ref('stg_ehb__security_events') }}
group by 1
