-- One row per UTC day from the first ticket to the latest activity: tickets opened and
-- resolved that day, the backlog (active tickets) at the end of the day and SLA attainment of
-- the tickets opened that day.
with tickets as (
    select t.*, s.first_response_sla, s.resolution_sla
    from {{ ref('stg_ehb__complaint_tickets') }} t
    join {{ ref('int_ticket_sla') }} s using (ticket_id)
),
days as (
    select cast(d as date) as day
    from range(
        (select cast(min(opened_at) as date) from tickets),
        (select cast(greatest(max(opened_at), max(coalesce(done_at, opened_at))) as date) from tickets)
            + interval 1 day,
        interval 1 day) r(d)
)
select
    d.day,
    count(*) filter (where cast(t.opened_at as date) = d.day) as opened,
    count(*) filter (where cast(t.done_at as date) = d.day) as resolved,
    count(*) filter (where t.opened_at < d.day + interval 1 day
                       and (t.done_at is null or t.done_at >= d.day + interval 1 day)) as backlog,
    count(*) filter (where cast(t.opened_at as date) = d.day and t.first_response_sla = 'met')
        as first_response_met,
    count(*) filter (where cast(t.opened_at as date) = d.day and t.first_response_sla = 'breached')
        as first_response_breached,
    count(*) filter (where cast(t.opened_at as date) = d.day and t.resolution_sla = 'met')
        as resolution_met,
    count(*) filter (where cast(t.opened_at as date) = d.day and t.resolution_sla = 'breached')
        as resolution_breached
from days d
cross join tickets t
group by d.day
