select
    id as attribution_id,
    order_id,
    territory_id,
    franchise_id,
    country,
    postal_code,
    created_at
from {{ source('ehb', 'franchise_order_attributions') }}
