-- Lifetime performance per seller and currency (a seller selling in one currency has one row).
with orders as (
    select
        seller_id,
        currency,
        count(*) as orders_placed,
        count(paid_at) as orders_paid,
        count(*) filter (where status = 'delivered') as orders_delivered,
        count(*) filter (where status = 'canceled') as orders_canceled,
        count(*) filter (where status = 'returned') as orders_returned,
        sum(subtotal_minor) filter (where paid_at is not null) as gmv_minor,
        sum(platform_fee_minor) filter (where paid_at is not null) as platform_fees_minor,
        sum(refunded_minor) as refunded_minor
    from {{ ref('stg_ehb__goseller_orders') }}
    group by 1, 2
),
payouts as (
    select seller_id, currency, sum(net_minor) as paid_out_minor
    from {{ ref('stg_ehb__goseller_payouts') }}
    where status = 'paid'
    group by 1, 2
)
select
    o.seller_id,
    s.seller_user_id,
    s.shop_name,
    s.status as seller_status,
    o.currency,
    cast(o.orders_placed as bigint) as orders_placed,
    cast(o.orders_paid as bigint) as orders_paid,
    cast(o.orders_delivered as bigint) as orders_delivered,
    cast(o.orders_canceled as bigint) as orders_canceled,
    cast(o.orders_returned as bigint) as orders_returned,
    cast(coalesce(o.gmv_minor, 0) as bigint) as gmv_minor,
    cast(coalesce(o.platform_fees_minor, 0) as bigint) as platform_fees_minor,
    cast(coalesce(o.refunded_minor, 0) as bigint) as refunded_minor,
    cast(coalesce(p.paid_out_minor, 0) as bigint) as paid_out_minor,
    cast(o.orders_returned as double) / nullif(o.orders_paid, 0) as return_rate
from orders as o
join {{ ref('stg_ehb__goseller_sellers') }} as s using (seller_id)
left join payouts as p using (seller_id, currency)
