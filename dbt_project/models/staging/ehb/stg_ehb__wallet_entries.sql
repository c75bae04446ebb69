select
    e.id as entry_id,
    e.transaction_id,
    t.kind as transaction_kind,
    e.account_id,
    e.amount,
    e.currency,
    e.balance_after,
    e.seq,
    e.created_at,
    -- when the warehouse last wrote this row (incremental marts pick up changes from it)
    greatest(e._ingested_at, t._ingested_at) as _ingested_at
from {{ source('ehb', 'wallet_entries') }} e
left join {{ source('ehb', 'wallet_transactions') }} t on t.id = e.transaction_id
