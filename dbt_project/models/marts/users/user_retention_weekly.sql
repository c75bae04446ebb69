-- Weekly cohort retention: of the users who signed up in cohort_week, how many started a
-- session in week cohort_week + week_number. Every (cohort, week) up to the latest activity
-- week is present, with 0 active users when nobody came back.
with users as (
    select user_id, cast(date_trunc('week', signed_up_at) as date) as cohort_week
    from {{ ref('stg_ehb__users') }}
),
cohorts as (
    select cohort_week, count(*) as cohort_size from users group by 1
),
last_week as (
    select greatest(
        coalesce((select max(activity_week) from {{ ref('int_user_sessions_weekly') }}), date '1970-01-05'),
        (select max(cohort_week) from cohorts)) as w
),
grid as (
    select c.cohort_week, c.cohort_size, cast(n.week_number as integer) as week_number
    from cohorts c, last_week l,
         range(0, cast(datediff('week', c.cohort_week, l.w) as bigint) + 1) n(week_number)
),
active as (
    select u.cohort_week,
           cast(datediff('week', u.cohort_week, s.activity_week) as integer) as week_number,
           count(distinct s.user_id) as active_users
    from users u
    join {{ ref('int_user_sessions_weekly') }} s using (user_id)
    where s.activity_week >= u.cohort_week
    group by 1, 2
)
select
    g.cohort_week,
    g.week_number,
    g.cohort_size,
    coalesce(a.active_users, 0) as active_users,
    coalesce(a.active_users, 0) / g.cohort_size::double as retention_rate
from grid g
left join active a using (cohort_week, week_number)
