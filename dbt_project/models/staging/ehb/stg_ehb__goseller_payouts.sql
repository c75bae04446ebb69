select
    id as payout_id,
    order_id,
    seller_id,
    currency,
    gross_minor,
    fee_minor,
    net_minor,
    status,
    paid_at,
    created_at
from {{ source('ehb', 'goseller_payouts') }}
