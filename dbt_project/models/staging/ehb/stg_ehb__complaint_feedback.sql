select
    id as feedback_id,
    ticket_id,
    customer_id,
    rating,
    created_at as rated_at
from {{ source('ehb', 'complaint_feedback') }}
