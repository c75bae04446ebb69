-- The AI calls' money against the ledger, per UTC day of posting and currency, to the minor
-- unit. Each billed call names its ledger transaction (kind ai_usage): the buyer's debit must
-- equal the call's charge, the user credit its provider share, the `fees` credit its fee.
-- Ledger transactions without a call, and successful charged calls without a transaction,
-- are counted; a day reconciles when every call matches its transaction to the minor unit
-- and nothing is unmatched.
with ledger as (
    select
        e.transaction_id,
        min(e.currency) as currency,
        cast(min(e.created_at) as date) as ledger_date,
        -sum(e.amount) filter (where e.amount < 0) as debit_minor,
        coalesce(sum(e.amount) filter (where e.amount > 0 and a.kind = 'user'), 0)
            as provider_minor,
        coalesce(sum(e.amount) filter (where e.amount > 0 and a.code like 'system:fees:%'), 0)
            as fee_minor
    from {{ ref('stg_ehb__wallet_entries') }} e
    join {{ ref('stg_ehb__wallet_accounts') }} a on a.account_id = e.account_id
    where e.transaction_kind = 'ai_usage'
    group by e.transaction_id
),

billed as (
    select * from {{ ref('stg_ehb__ai_calls') }}
    where status = 'succeeded' and charge_minor > 0
),

matched as (
    select
        coalesce(l.ledger_date, cast(c.settled_at as date)) as ledger_date,
        coalesce(l.currency, c.currency) as currency,
        l.transaction_id,
        c.call_id,
        coalesce(l.debit_minor, 0) as ledger_debit_minor,
        coalesce(l.provider_minor, 0) as ledger_provider_minor,
        coalesce(l.fee_minor, 0) as ledger_fee_minor,
        coalesce(c.charge_minor, 0) as charge_minor,
        coalesce(c.provider_minor, 0) as provider_minor,
        coalesce(c.fee_minor, 0) as fee_minor
    from ledger l
    full outer join billed c on c.ledger_transaction_id = l.transaction_id
)

select
    ledger_date,
    currency,
    count(transaction_id) as ledger_transactions,
    count(call_id) as billed_calls,
    cast(sum(ledger_debit_minor) as bigint) as ledger_debit_minor,
    cast(sum(charge_minor) as bigint) as calls_charge_minor,
    cast(sum(ledger_provider_minor) as bigint) as ledger_provider_minor,
    cast(sum(provider_minor) as bigint) as calls_provider_minor,
    cast(sum(ledger_fee_minor) as bigint) as ledger_fee_minor,
    cast(sum(fee_minor) as bigint) as calls_fee_minor,
    count(*) filter (where call_id is null) as unmatched_transactions,
    count(*) filter (where transaction_id is null) as unbilled_calls,
    count(*) filter (where ledger_debit_minor <> charge_minor
                       or ledger_provider_minor <> provider_minor
                       or ledger_fee_minor <> fee_minor) as mismatched_calls,
    -- every pair matches (so the sums do too) and nothing is unmatched
    count(*) filter (where call_id is null or transaction_id is null
                       or ledger_debit_minor <> charge_minor
                       or ledger_provider_minor <> provider_minor
                       or ledger_fee_minor <> fee_minor) = 0 as is_reconciled
from matched
group by 1, 2
