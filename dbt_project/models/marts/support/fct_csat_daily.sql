select
    cast(rated_at as date) as rating_date,
    count(*) as responses,
    avg(rating)::double as avg_rating,
    (count(*) filter (where rating >= 4) / count(*)::double) as csat
from {{ ref('stg_ehb__complaint_feedback') }}
group by 1
