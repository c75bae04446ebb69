-- Held transfers awaiting support review (the reviewer's note stays in PostgreSQL).
select
    id as case_id, decision_id, user_id, to_user_id, amount, currency, status,
    status = 'open' as is_open, reviewer_id,
    case when status = 'open' then null else updated_at end as resolved_at,
    hold_tx_id, settle_tx_id, created_at, updated_at
from {{ source('ehb', 'fraud_cases') }}
