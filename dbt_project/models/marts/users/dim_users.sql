select
    u.user_id,
    u.email_domain,
    u.display_name,
    u.roles,
    case
        when list_contains(u.roles, 'admin') then 'admin'
        when list_contains(u.roles, 'analyst') then 'analyst'
        when list_contains(u.roles, 'support') then 'support'
        when list_contains(u.roles, 'seller') then 'seller'
        when list_contains(u.roles, 'franchisee') then 'franchisee'
        when list_contains(u.roles, 'affiliate') then 'affiliate'
        else 'customer'
    end as primary_role,
    u.is_active,
    u.email_verified_at is not null as is_email_verified,
    u.mfa_enabled_at is not null as is_mfa_enabled,
    u.signed_up_at,
    cast(u.signed_up_at as date) as signup_date,
    cast(date_trunc('week', u.signed_up_at) as date) as cohort_week,
    a.sessions_started,
    a.last_session_at,
    a.login_failures
from {{ ref('stg_ehb__users') }} u
join {{ ref('int_user_activity') }} a using (user_id)
