select
    id as settlement_id,
    franchise_id,
    period_start,
    currency,
    share_basis,
    share_bps,
    order_count,
    gross_minor,
    net_minor,
    share_minor,
    status,
    posted_at,
    created_at
from {{ source('ehb', 'franchise_settlements') }}
