-- The ledger reconciliation per UTC day and currency: money moved, and the double-entry
-- invariant (every transaction sums to zero).
with tx as (
    select transaction_id, cast(min(created_at) as date) as ledger_date, currency,
           min(transaction_kind) as kind, sum(amount) as net,
           sum(amount) filter (where amount > 0) as credits
    from {{ ref('stg_ehb__wallet_entries') }}
    group by transaction_id, currency
)
select
    ledger_date,
    currency,
    count(*) as transactions,
    cast(coalesce(sum(credits), 0) as bigint) as volume,
    cast(coalesce(sum(credits) filter (where kind = 'transfer'), 0) as bigint) as transfer_volume,
    count(*) filter (where net <> 0) as unbalanced_transactions
from tx
group by 1, 2
