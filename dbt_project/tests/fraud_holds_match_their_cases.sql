-- A fraud-review hold has its case and the case's status; an open hold is never resolved;
-- a decision's amount equals its case's amount.
select h.decision_id
from {{ ref('fraud_holds') }} h
left join {{ ref('stg_ehb__fraud_cases') }} c on c.case_id = h.case_id
where (h.hold_kind = 'fraud_review' and (c.case_id is null or c.status <> h.status
                                         or c.amount <> h.amount_minor))
   or (h.is_open and h.resolved_at is not null)
