-- Per account: the stored balance next to the sum of its ledger entries (they must agree).
with entries as (
    select account_id, sum(amount) as ledger_balance, count(*) as entries
    from {{ ref('stg_ehb__wallet_entries') }}
    group by 1
)
select
    a.account_id,
    a.user_id,
    a.kind,
    a.currency,
    a.balance,
    cast(coalesce(e.ledger_balance, 0) as bigint) as ledger_balance,
    coalesce(e.entries, 0) as entries,
    a.balance = coalesce(e.ledger_balance, 0) as is_reconciled
from {{ ref('stg_ehb__wallet_accounts') }} a
left join entries e using (account_id)
