select
    id as seller_id,
    user_id as seller_user_id,
    shop_name,
    status,
    verified_at,
    created_at,
    _ingested_at
from {{ source('ehb', 'goseller_sellers') }}
