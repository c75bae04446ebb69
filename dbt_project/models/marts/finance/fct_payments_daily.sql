-- Card and wallet payments per UTC day (of the intent) and currency. Money in minor units.
select
    cast(created_at as date) as payment_date,
    currency,
    count(*) as intents,
    count(*) filter (where status = 'succeeded') as succeeded,
    count(*) filter (where status = 'failed') as failed,
    cast(coalesce(sum(amount_captured) filter (where is_topup), 0) as bigint) as topup_captured,
    cast(coalesce(sum(amount_captured) filter (where not is_topup), 0) as bigint) as purchase_captured,
    cast(sum(amount_refunded) as bigint) as refunded,
    cast(sum(fee_amount) as bigint) as fees
from {{ ref('stg_ehb__payment_intents') }}
group by 1, 2
