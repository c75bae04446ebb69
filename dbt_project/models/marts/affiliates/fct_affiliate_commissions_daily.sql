-- Commissions per affiliate, UTC day the commission was recorded (the order's payment),
-- currency and current status. Money in minor units.
select
    cast(c.created_at as date) as commission_date,
    c.affiliate_id,
    a.affiliate_user_id,
    c.currency,
    c.status,
    count(*) as commissions,
    cast(sum(c.order_amount_minor) as bigint) as order_amount_minor,
    cast(sum(c.commission_minor) as bigint) as commission_minor
from {{ ref('stg_ehb__affiliate_commissions') }} as c
join {{ ref('stg_ehb__affiliates') }} as a using (affiliate_id)
group by 1, 2, 3, 4, 5
