select
    id as affiliate_id,
    user_id as affiliate_user_id,
    code,
    status,
    approved_at,
    created_at
from {{ source('ehb', 'affiliates') }}
