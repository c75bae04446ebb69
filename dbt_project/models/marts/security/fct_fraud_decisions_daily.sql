-- Fraud-scored attempts per UTC day, currency, verdict (pass/hold/block), current outcome and
-- the rule that weighed most. Additive: each decision counts once. Money in minor units.
select
    decision_date,
    currency,
    verdict,
    outcome,
    top_rule,
    count(*) as decisions,
    cast(sum(amount) as bigint) as amount_minor,
    count(distinct user_id) as distinct_users,
    cast(sum(score) as bigint) as score_total,
    cast(max(score) as bigint) as max_score
from {{ ref('stg_ehb__fraud_decisions') }}
group by 1, 2, 3, 4, 5
