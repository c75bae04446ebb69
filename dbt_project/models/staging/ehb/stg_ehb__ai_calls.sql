-- One invoke through the gateway. Calls still 'reserved' are in flight (not yet billed or
-- released); failed calls are never billed. provider_user_id: the provider that answered, or
-- for a failed call the owner of the service that was asked.
select
    c.id as call_id,
    c.key_id,
    c.buyer_user_id,
    c.service_id,
    c.version_id,
    coalesce(c.provider_user_id, s.provider_user_id) as provider_user_id,
    c.status,
    c.error_code,
    c.currency,
    c.reserved_minor,
    c.charge_minor,
    c.provider_minor,
    c.fee_minor,
    c.tokens,
    c.latency_ms,
    c.provider_latency_ms,
    c.attempts,
    c.fallback_used,
    c.ledger_transaction_id,
    c.created_at,
    cast(c.created_at as date) as usage_date,
    c.settled_at,
    greatest(c._ingested_at, s._ingested_at) as _ingested_at
from {{ source('ehb', 'ai_calls') }} c
left join {{ source('ehb', 'ai_services') }} s on s.id = c.service_id
