-- One row per franchise territory with its country (ISO 3166-1 alpha-2), for maps.
select
    t.territory_id,
    t.franchise_id,
    f.franchisee_user_id,
    f.franchise_name,
    t.territory_name,
    upper(t.country) as country,
    t.region,
    t.city,
    t.exclusive,
    cast(count(c.postal_claim_id) as bigint) as postal_codes
from {{ ref('stg_ehb__franchise_territories') }} t
join {{ ref('stg_ehb__franchises') }} f on f.franchise_id = t.franchise_id
left join {{ ref('stg_ehb__franchise_postal_claims') }} c on c.territory_id = t.territory_id
group by all
