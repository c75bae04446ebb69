-- Orders ever placed (a cart, even a canceled one, has no currency and no money). Shipping name and street
-- never reach the warehouse; postal code and country are kept for franchise territories.
select
    id as order_id,
    buyer_id as buyer_user_id,
    seller_id,
    status,
    currency,
    subtotal_minor,
    platform_fee_minor,
    refunded_minor,
    refund_status,
    ship_postal_code,
    ship_country,
    placed_at,
    paid_at,
    fulfilled_at,
    delivered_at,
    canceled_at,
    returned_at,
    created_at,
    _ingested_at  -- when the warehouse last wrote this row (incremental marts)
from {{ source('ehb', 'goseller_orders') }}
where placed_at is not null
