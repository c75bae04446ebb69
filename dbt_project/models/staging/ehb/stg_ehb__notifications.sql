select
    id as notification_id,
    user_id,
    channel,
    category,
    status,
    attempts,
    created_at,
    sent_at
from {{ source('ehb', 'notification_outbox') }}
