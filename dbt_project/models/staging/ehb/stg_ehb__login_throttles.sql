select
    key as throttle_key,
    split_part(key, ':', 1) as key_kind,
    failures,
    last_failure_at,
    blocked_until,
    updated_at
from {{ source('ehb', 'login_throttles') }}
