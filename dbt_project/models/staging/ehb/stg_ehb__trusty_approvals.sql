select id as approval_id, request_id, approver_id, decision, created_at
from {{ source('ehb', 'trusty_approvals') }}
