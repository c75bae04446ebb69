-- Marketplace activity per UTC day, currency and seller. Each order counts on the day of each
-- of its events: placed (placed_at), paid (paid_at: GMV and platform fees are booked then),
-- canceled (canceled_at), returned (returned_at: refunds of returns and paid cancels are booked
-- on that day). Money in minor units. Incremental: only the (day, currency, seller) keys whose
-- orders changed are recomputed (macros/incremental_by_key.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    on_schema_change='fail',
    unique_key=['order_date', 'currency', 'seller_id'],
    merge_clauses=ehb_merge_clauses('fct_orders_daily', ['order_date', 'currency', 'seller_id']),
    pre_hook="{{ ehb_track_changes(['order_date', 'currency', 'seller_id'], fct_orders_daily__changed_rows(), fct_orders_daily__current_pks()) }}",
    post_hook="{{ ehb_save_state() }}",
) }}
with orders as (
    select * from {{ ref('stg_ehb__goseller_orders') }}
    {% if is_incremental() %}
    where seller_id in (select seller_id from {{ ehb_state('delta') }})
    {% endif %}
),
events as (
    select cast(placed_at as date) as order_date, seller_id, currency,
           1 as placed, 0 as paid, 0 as canceled, 0 as returned,
           0 as gmv, 0 as fee, 0 as refunded
    from orders
    union all
    select cast(paid_at as date), seller_id, currency, 0, 1, 0, 0,
           subtotal_minor, platform_fee_minor, 0
    from orders where paid_at is not null
    union all
    select cast(canceled_at as date), seller_id, currency, 0, 0, 1, 0, 0, 0, refunded_minor
    from orders where canceled_at is not null
    union all
    select cast(returned_at as date), seller_id, currency, 0, 0, 0, 1, 0, 0, refunded_minor
    from orders where returned_at is not null
)
select
    e.order_date,
    e.currency,
    e.seller_id,
    s.seller_user_id,
    cast(sum(e.placed) as bigint) as orders_placed,
    cast(sum(e.paid) as bigint) as orders_paid,
    cast(sum(e.canceled) as bigint) as orders_canceled,
    cast(sum(e.returned) as bigint) as orders_returned,
    cast(sum(e.gmv) as bigint) as gmv_minor,
    cast(sum(e.fee) as bigint) as platform_fees_minor,
    cast(sum(e.refunded) as bigint) as refunded_minor
from events as e
join {{ ref('stg_ehb__goseller_sellers') }} as s using (seller_id)
{% if is_incremental() %}where {{ ehb_touched('e', ['order_date', 'currency', 'seller_id']) }}{% endif %}
group by 1, 2, 3, 4
