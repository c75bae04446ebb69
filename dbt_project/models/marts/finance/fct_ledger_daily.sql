-- The ledger reconciliation per UTC day and currency: money moved, and the double-entry
-- invariant (every transaction sums to zero). Incremental: only the days whose entries changed
-- are recomputed (see macros/incremental_by_key.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    on_schema_change='fail',
    unique_key=['ledger_date', 'currency'],
    merge_clauses=ehb_merge_clauses('fct_ledger_daily', ['ledger_date', 'currency']),
    pre_hook="{{ ehb_track_changes(['ledger_date', 'currency'], fct_ledger_daily__changed_rows(), fct_ledger_daily__current_pks()) }}",
    post_hook="{{ ehb_save_state() }}",
) }}
with entries as (
    select * from {{ ref('stg_ehb__wallet_entries') }}
    {% if is_incremental() %}
    -- every entry of a transaction with an entry on a touched day (a transaction counts on the
    -- day of its first entry, and may cross midnight)
    where transaction_id in (
        select transaction_id from {{ ref('stg_ehb__wallet_entries') }}
        where cast(created_at as date) in (select ledger_date from {{ ehb_state('delta') }}))
    {% endif %}
),
tx as (
    select transaction_id, cast(min(created_at) as date) as ledger_date, currency,
           min(transaction_kind) as kind, sum(amount) as net,
           sum(amount) filter (where amount > 0) as credits
    from entries
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
{% if is_incremental() %}where {{ ehb_touched('tx', ['ledger_date', 'currency']) }}{% endif %}
group by 1, 2
