-- Per-user session and login-failure totals (joined into dim_users).
with sessions as (
    select user_id, count(distinct family_id) as sessions_started, max(issued_at) as last_session_at
    from {{ ref('stg_ehb__refresh_tokens') }}
    group by user_id
),
failures as (
    select user_id, count(*) as login_failures
    from {{ ref('stg_ehb__security_events') }}
    where is_login_failure and user_id is not null
    group by user_id
)
select
    u.user_id,
    coalesce(s.sessions_started, 0) as sessions_started,
    s.last_session_at,
    coalesce(f.login_failures, 0) as login_failures
from {{ ref('stg_ehb__users') }} u
left join sessions s using (user_id)
left join failures f using (user_id)
