{# Source rows of the incremental marketplace facts (see macros/incremental_by_key.sql). #}

{# An order counts on the day of each of its events (placed, paid, canceled, returned), for its
   seller; a change to the seller row (its owner) re-keys the seller's orders. #}
{% macro fct_orders_daily__changed_rows() %}
    with orders as (
        select o.order_id, o.seller_id, o.currency, o.placed_at, o.paid_at, o.canceled_at,
               o.returned_at, greatest(o._ingested_at, s._ingested_at) as _ingested_at
        from {{ ref('stg_ehb__goseller_orders') }} o
        join {{ ref('stg_ehb__goseller_sellers') }} s using (seller_id)
        where greatest(o._ingested_at, s._ingested_at) > {{ ehb_since() }}
    )
    select distinct order_id as row_pk, cast(event_at as date) as order_date, currency, seller_id,
           _ingested_at
    from orders
    cross join lateral (select unnest([placed_at, paid_at, canceled_at, returned_at]) as event_at)
    where event_at is not null
{% endmacro %}

{% macro fct_orders_daily__current_pks() %}
    select order_id as row_pk from {{ ref('stg_ehb__goseller_orders') }}
{% endmacro %}
