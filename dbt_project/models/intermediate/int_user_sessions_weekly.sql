-- One row per user and week in which the user started at least one session
-- (a refresh-token family is one login).
select
    user_id,
    cast(date_trunc('week', issued_at) as date) as activity_week,
    count(distinct family_id) as sessions
from {{ ref('stg_ehb__refresh_tokens') }}
group by 1, 2
