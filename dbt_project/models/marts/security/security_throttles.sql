select throttle_key, key_kind, failures, last_failure_at, blocked_until
from {{ ref('stg_ehb__login_throttles') }}
