select
    id as commission_id,
    affiliate_id,
    referral_id,
    order_id,
    period,
    currency,
    order_amount_minor,
    commission_minor,
    status,
    approved_at,
    reversed_at,
    paid_at,
    created_at
from {{ source('ehb', 'affiliate_commissions') }}
