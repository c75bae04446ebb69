-- Card and wallet payments per UTC day (of the intent) and currency. Money in minor units.
-- Incremental: only the days whose intents changed are recomputed (macros/incremental_by_key.sql).
{{ config(
    materialized='incremental',
    incremental_strategy='merge',
    on_schema_change='fail',
    unique_key=['payment_date', 'currency'],
    merge_clauses=ehb_merge_clauses('fct_payments_daily', ['payment_date', 'currency']),
    pre_hook="{{ ehb_track_changes(['payment_date', 'currency'], fct_payments_daily__changed_rows(), fct_payments_daily__current_pks()) }}",
    post_hook="{{ ehb_save_state() }}",
) }}
with intents as (
    select *, cast(created_at as date) as payment_date
    from {{ ref('stg_ehb__payment_intents') }}
)
select
    payment_date,
    currency,
    count(*) as intents,
    count(*) filter (where status = 'succeeded') as succeeded,
    count(*) filter (where status = 'failed') as failed,
    cast(coalesce(sum(amount_captured) filter (where is_topup), 0) as bigint) as topup_captured,
    cast(coalesce(sum(amount_captured) filter (where not is_topup), 0) as bigint) as purchase_captured,
    cast(sum(amount_refunded) as bigint) as refunded,
    cast(sum(fee_amount) as bigint) as fees
from intents
{% if is_incremental() %}where {{ ehb_touched('intents', ['payment_date', 'currency']) }}{% endif %}
group by 1, 2
