select
    event_date,
    event_type,
    count(*) as events,
    count(distinct user_id) as distinct_users,
    count(distinct client_ip) as distinct_ips
from {{ ref('stg_ehb__security_events') }}
group by 1, 2
