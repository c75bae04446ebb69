select
    id as policy_id, user_id, currency, threshold, required, approval_ttl_seconds,
    vault_delay_seconds, created_at, updated_at
from {{ source('ehb', 'trusty_policies') }}
