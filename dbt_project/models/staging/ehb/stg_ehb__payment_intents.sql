select
    id as payment_intent_id,
    user_id as payer_id,
    payee_user_id as payee_id,
    payee_user_id is null as is_topup,
    amount,
    currency,
    status,
    amount_captured,
    amount_refunded,
    fee_amount,
    created_at,
    _ingested_at  -- when the warehouse last wrote this row (incremental marts)
from {{ source('ehb', 'payment_intents') }}
