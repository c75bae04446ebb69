-- Every fraud-scored attempt. fraud_decisions is ingested by id (no updated_at): the one later
-- change, the outcome of a held transfer once support reviews its case, comes from fraud_cases
-- (approved -> posted, rejected -> refused), so `outcome` is current even for old rows.
with decisions as (
    select
        *,
        from_json(cast(reasons as varchar),
                  '[{"rule": "VARCHAR", "points": "BIGINT", "detail": "VARCHAR"}]') as hits
    from {{ source('ehb', 'fraud_decisions') }}
)

select
    d.id as decision_id,
    d.created_at as decided_at,
    cast(d.created_at as date) as decision_date,
    d.user_id,
    d.action,
    d.counterparty_id,
    d.amount,
    d.currency,
    d.client_ip,
    d.score,
    d.decision,
    -- the platform's three answers: pass (allow), hold (review by support), block
    case d.decision when 'allow' then 'pass' when 'review' then 'hold' else 'block' end as verdict,
    case c.status
        when 'approved' then 'posted'
        when 'rejected' then 'refused'
        when 'open' then 'held'
        else d.outcome
    end as outcome,
    coalesce(len(d.hits), 0) as rules_hit,
    -- the rule that weighed most (ties: by name), 'none' when no rule fired
    coalesce(list_sort(list_transform(d.hits, lambda h: {'neg_points': -h.points, 'rule': h.rule}))[1]['rule'],
             'none') as top_rule,
    coalesce(list_transform(d.hits, lambda h: h.rule), []) as rules,
    c.case_id
from decisions d
left join {{ ref('stg_ehb__fraud_cases') }} c on c.decision_id = d.id
