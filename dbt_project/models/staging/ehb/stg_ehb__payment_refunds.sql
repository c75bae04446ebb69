select id as refund_id, intent_id as payment_intent_id, amount, status, created_at
from {{ source('ehb', 'payment_refunds') }}
