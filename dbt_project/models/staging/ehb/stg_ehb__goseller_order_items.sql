select
    id as order_item_id,
    order_id,
    product_id,
    qty,
    unit_price_minor,
    currency,
    category,
    cast(qty * unit_price_minor as bigint) as line_minor
from {{ source('ehb', 'goseller_order_items') }}
