select
    id as territory_id,
    franchise_id,
    name as territory_name,
    country,
    region,
    city,
    exclusive,
    created_at
from {{ source('ehb', 'franchise_territories') }}
