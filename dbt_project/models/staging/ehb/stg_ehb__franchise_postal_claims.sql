select
    id as postal_claim_id,
    territory_id,
    country,
    postal_code,
    exclusive
from {{ source('ehb', 'franchise_postal_claims') }}
