select
    id as security_event_id,
    occurred_at,
    cast(occurred_at as date) as event_date,
    event_type,
    user_id,
    lower(email) as email,
    client_ip,
    -- classification used by the security marts (event names come from the auth service)
    (event_type ilike '%login%' and event_type ilike '%fail%') as is_login_failure,
    (event_type ilike '%lock%') as is_lockout,
    (event_type ilike '%login%') as is_login_event,
    _ingested_at  -- when the warehouse last wrote this row (incremental marts)
from {{ source('ehb', 'security_events') }}
