-- AI calls per UTC day, currency, service, buyer and key: the usage, money and latency the
-- buyer, the provider and staff see. Calls in flight ('reserved') are left out until they
-- settle. Money in minor units: charge = provider + fee.
select
    c.usage_date,
    c.currency,
    c.service_id,
    s.service_slug,
    s.task,
    c.provider_user_id,
    c.buyer_user_id,
    c.key_id,
    count(*) as calls,
    count(*) filter (where c.status = 'succeeded') as succeeded,
    count(*) filter (where c.status = 'failed') as failed,
    count(*) filter (where c.fallback_used) as fallbacks,
    cast(coalesce(sum(c.tokens) filter (where c.status = 'succeeded'), 0) as bigint) as tokens,
    cast(sum(c.charge_minor) as bigint) as charge_minor,
    cast(sum(c.provider_minor) as bigint) as provider_minor,
    cast(sum(c.fee_minor) as bigint) as fee_minor,
    cast(avg(c.latency_ms) filter (where c.status = 'succeeded') as double) as avg_latency_ms,
    cast(quantile_cont(c.latency_ms, 0.95) filter (where c.status = 'succeeded') as double)
        as p95_latency_ms,
    cast(avg(c.provider_latency_ms) filter (where c.status = 'succeeded') as double)
        as avg_provider_latency_ms
from {{ ref('stg_ehb__ai_calls') }} c
join {{ ref('stg_ehb__ai_services') }} s on s.service_id = c.service_id
where c.status <> 'reserved'
group by all
