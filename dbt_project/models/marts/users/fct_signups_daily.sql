with daily as (
    select
        cast(signed_up_at as date) as signup_date,
        count(*) as new_users,
        count(email_verified_at) as verified_users
    from {{ ref('stg_ehb__users') }}
    group by 1
)
select
    signup_date,
    new_users,
    verified_users,
    cast(sum(new_users) over (order by signup_date rows unbounded preceding) as bigint)
        as cumulative_users
from daily
