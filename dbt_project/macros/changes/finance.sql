{# Source rows of the incremental finance facts, keyed by the grain they count in
   (see macros/incremental_by_key.sql). #}

{# A ledger entry counts on its transaction's day (its first entry) and currency: when any entry of
   a transaction changes, all of them are re-keyed. #}
{% macro fct_ledger_daily__changed_rows() %}
    with changed as (
        select distinct transaction_id from {{ ref('stg_ehb__wallet_entries') }}
        where _ingested_at > {{ ehb_since() }}
    )
    select entry_id as row_pk,
           cast(min(created_at) over (partition by transaction_id, currency) as date) as ledger_date,
           currency, _ingested_at
    from {{ ref('stg_ehb__wallet_entries') }}
    where transaction_id in (select transaction_id from changed)
{% endmacro %}

{% macro fct_ledger_daily__current_pks() %}
    select entry_id as row_pk from {{ ref('stg_ehb__wallet_entries') }}
{% endmacro %}

{% macro fct_payments_daily__changed_rows() %}
    select payment_intent_id as row_pk, cast(created_at as date) as payment_date, currency,
           _ingested_at
    from {{ ref('stg_ehb__payment_intents') }}
    where _ingested_at > {{ ehb_since() }}
{% endmacro %}

{% macro fct_payments_daily__current_pks() %}
    select payment_intent_id as row_pk from {{ ref('stg_ehb__payment_intents') }}
{% endmacro %}
