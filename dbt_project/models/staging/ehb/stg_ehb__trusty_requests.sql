-- Multisig approval requests (transfers above a policy threshold, vault moves).
select
    id as request_id, policy_id, requester_id, kind, to_user_id, amount, currency, status,
    status in ('pending', 'approved') as is_open,
    expires_at, execute_after, hold_tx_id, settle_tx_id, created_at, updated_at
from {{ source('ehb', 'trusty_requests') }}
