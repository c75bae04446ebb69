select
    id as service_id,
    slug as service_slug,
    name as service_name,
    task,
    provider_user_id,
    currency,
    status,
    sunset_at,
    created_at
from {{ source('ehb', 'ai_services') }}
