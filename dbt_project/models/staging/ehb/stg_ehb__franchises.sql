select
    id as franchise_id,
    owner_user_id as franchisee_user_id,
    name as franchise_name,
    status,
    share_basis,
    share_bps,
    created_at
from {{ source('ehb', 'franchises') }}
