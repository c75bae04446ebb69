select
    id as refresh_token_id,
    user_id,
    family_id,
    created_at as issued_at,
    expires_at,
    rotated_at,
    revoked_at,
    revoked_reason
from {{ source('ehb', 'refresh_tokens') }}
