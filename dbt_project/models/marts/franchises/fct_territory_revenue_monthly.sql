-- Revenue of orders delivered into a franchise's territory, per UTC month of delivery and
-- currency, with the franchise's revenue share computed as settlements do
-- (api.franchises.service._line_amounts): per order gross = subtotal - refunded, net = gross -
-- platform fee, share = floor(base * share_bps / 10000) with base = gross or net.
-- Only orders still delivered (not returned) count. Money in minor units.
with lines as (
    select
        f.franchise_id,
        f.franchisee_user_id,
        t.territory_id,
        cast(date_trunc('month', o.delivered_at) as date) as revenue_month,
        o.currency,
        o.subtotal_minor - o.refunded_minor as gross_minor,
        o.subtotal_minor - o.refunded_minor - o.platform_fee_minor as net_minor,
        f.share_basis,
        f.share_bps
    from {{ ref('stg_ehb__franchise_order_attributions') }} as t
    join {{ ref('stg_ehb__goseller_orders') }} as o using (order_id)
    join {{ ref('stg_ehb__franchises') }} as f on f.franchise_id = t.franchise_id
    where o.status = 'delivered'
)
select
    franchise_id,
    franchisee_user_id,
    territory_id,
    revenue_month,
    currency,
    count(*) as orders,
    cast(sum(gross_minor) as bigint) as gross_minor,
    cast(sum(net_minor) as bigint) as net_minor,
    cast(sum((case when share_basis = 'gross' then gross_minor else net_minor end)
             * share_bps // 10000) as bigint) as share_minor
from lines
group by 1, 2, 3, 4, 5
