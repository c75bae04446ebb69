-- Per ticket: was each SLA met, breached, or still undecided (as of the build time)?
select
    ticket_id,
    opened_at,
    case
        when first_responded_at is not null and first_responded_at <= first_response_due_at then 'met'
        when first_responded_at is not null or first_response_breached_at is not null
             or first_response_due_at < now() then 'breached'
        else 'pending'
    end as first_response_sla,
    case
        when done_at is not null and done_at <= resolution_due_at then 'met'
        when done_at is not null or resolution_breached_at is not null
             or resolution_due_at < now() then 'breached'
        else 'pending'
    end as resolution_sla,
    datediff('minute', opened_at, first_responded_at) as minutes_to_first_response,
    datediff('minute', opened_at, done_at) as minutes_to_resolution
from {{ ref('stg_ehb__complaint_tickets') }}
