select
    id as product_id,
    seller_id,
    sku,
    category,
    price_minor,
    currency,
    stock,
    active,
    created_at
from {{ source('ehb', 'goseller_products') }}
