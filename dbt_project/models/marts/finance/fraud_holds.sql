-- Every transfer the platform did not simply post: held for fraud review (with its case),
-- blocked by the fraud rules, or held for multisig approval above a policy threshold. Status is
-- the current one; age is to resolution, or to the build for what is still open.
with decisions as (
    select * from {{ ref('stg_ehb__fraud_decisions') }}
    where action in ('transfer', 'wallet_transfer') and  -- trusty and wallet transfers
      (verdict in ('hold', 'block') or outcome = 'held')
),

requests as (  -- a policy hold opens its request in the same transaction as the decision
    select
        d.decision_id, r.request_id, r.status, r.is_open, r.updated_at,
        row_number() over (partition by d.decision_id order by r.request_id) as n
    from decisions d
    join {{ ref('stg_ehb__trusty_requests') }} r
        on d.verdict = 'pass' and r.kind = 'transfer' and r.requester_id = d.user_id
        and r.to_user_id = d.counterparty_id and r.amount = d.amount
        and r.currency = d.currency and r.created_at = d.decided_at
)

select
    d.decision_id,
    d.decided_at,
    d.decision_date,
    d.user_id,
    d.counterparty_id as to_user_id,
    d.currency,
    d.amount as amount_minor,
    cast(d.score as bigint) as score,
    d.verdict,
    d.top_rule,
    case when d.verdict = 'hold' then 'fraud_review'
         when d.verdict = 'block' then 'blocked'
         else 'approval' end as hold_kind,
    c.case_id,
    r.request_id,
    case when d.verdict = 'block' then 'blocked'
         when d.verdict = 'hold' then coalesce(c.status, 'open')
         else coalesce(r.status, 'pending') end as status,
    case when d.verdict = 'block' then false
         when d.verdict = 'hold' then coalesce(c.is_open, true)
         else coalesce(r.is_open, true) end as is_open,
    c.reviewer_id,
    case c.status when 'approved' then 'released' when 'rejected' then 'refused' end
        as reviewer_outcome,
    d.outcome,
    case when d.verdict = 'block' then d.decided_at
         when d.verdict = 'hold' then c.resolved_at
         when not r.is_open then r.updated_at end as resolved_at,
    round(date_diff('second', d.decided_at,
                    coalesce(case when d.verdict = 'block' then d.decided_at
                                  when d.verdict = 'hold' then c.resolved_at
                                  when not r.is_open then r.updated_at end,
                             now())) / 3600.0, 2) as age_hours
from decisions d
left join {{ ref('stg_ehb__fraud_cases') }} c on c.decision_id = d.decision_id
left join requests r on r.decision_id = d.decision_id and r.n = 1
