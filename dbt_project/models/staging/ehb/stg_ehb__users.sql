select
    id as user_id,
    lower(email) as email,
    split_part(email, '@', 2) as email_domain,
    display_name,
    roles,
    is_active,
    email_verified_at,
    mfa_enabled_at,
    created_at as signed_up_at,
    updated_at
from {{ source('ehb', 'users') }}
