"""The marts the dashboards and reports may read: the contract in /work/MARTS.md (owner: the
data side), restated as data. Column names here are the whitelist every generated query is
built from; user input only ever picks among them or arrives as bound parameters.

`scope` says how a row belongs to a scoped user (kind -> column): a seller's rows carry their
seller id, a franchisee's their territory, an affiliate's their referrals, and `user` a row
about the user themself. A mart without the viewer's kind is invisible to them (fail closed).
`filters` maps the global filters (currency, territory, seller) onto the mart's columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Mart:
    schema: str
    table: str
    columns: dict[str, str]  # name -> DuckDB type (contract)
    date_column: str | None = None
    filters: dict[str, str] = field(default_factory=dict)
    scope: dict[str, str] = field(default_factory=dict)
    description: str = ""

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"

    def has(self, column: str) -> bool:
        return column in self.columns


MARTS: dict[str, Mart] = {m.name: m for m in [
    Mart("marts", "dim_users", {
        "user_id": "BIGINT", "email_domain": "VARCHAR", "display_name": "VARCHAR",
        "roles": "VARCHAR[]", "primary_role": "VARCHAR", "is_active": "BOOLEAN",
        "is_email_verified": "BOOLEAN", "is_mfa_enabled": "BOOLEAN",
        "signed_up_at": "TIMESTAMPTZ", "signup_date": "DATE", "cohort_week": "DATE",
        "sessions_started": "BIGINT", "last_session_at": "TIMESTAMPTZ",
        "login_failures": "BIGINT",
    }, date_column="signup_date", scope={"user": "user_id", "seller": "user_id",
                                          "affiliate": "user_id"},
        description="one row per user"),
    Mart("marts", "fct_signups_daily", {
        "signup_date": "DATE", "new_users": "BIGINT", "verified_users": "BIGINT",
        "cumulative_users": "BIGINT",
    }, date_column="signup_date", description="sign-ups per UTC day"),
    Mart("marts", "user_retention_weekly", {
        "cohort_week": "DATE", "week_number": "INTEGER", "cohort_size": "BIGINT",
        "active_users": "BIGINT", "retention_rate": "DOUBLE",
    }, date_column="cohort_week", description="weekly cohorts"),
    Mart("marts", "fct_security_events_daily", {
        "event_date": "DATE", "event_type": "VARCHAR", "events": "BIGINT",
        "distinct_users": "BIGINT", "distinct_ips": "BIGINT",
    }, date_column="event_date", description="security events per day and type"),
    Mart("marts", "fct_login_failures_daily", {
        "event_date": "DATE", "login_failures": "BIGINT", "lockouts": "BIGINT",
        "distinct_accounts": "BIGINT", "distinct_ips": "BIGINT", "failure_share": "DOUBLE",
    }, date_column="event_date", description="login failures and lockouts per day"),
    Mart("marts", "security_throttles", {
        "throttle_key": "VARCHAR", "key_kind": "VARCHAR", "failures": "BIGINT",
        "last_failure_at": "TIMESTAMPTZ", "blocked_until": "TIMESTAMPTZ",
    }, date_column="last_failure_at", description="login throttles (current state)"),
    # Finance: money is BIGINT minor units beside its currency; never summed across currencies.
    Mart("marts", "fct_payments_daily", {
        "payment_date": "DATE", "currency": "VARCHAR", "intents": "BIGINT",
        "succeeded": "BIGINT", "failed": "BIGINT", "topup_captured": "BIGINT",
        "purchase_captured": "BIGINT", "refunded": "BIGINT", "fees": "BIGINT",
    }, date_column="payment_date", filters={"currency": "currency"},
        description="payment intents, captures, refunds and fees per day and currency"),
    Mart("marts", "fct_ledger_daily", {
        "ledger_date": "DATE", "currency": "VARCHAR", "transactions": "BIGINT",
        "volume": "BIGINT", "transfer_volume": "BIGINT", "unbalanced_transactions": "BIGINT",
    }, date_column="ledger_date", filters={"currency": "currency"},
        description="ledger transactions and volume per day and currency"),
    Mart("marts", "wallet_balances", {
        "account_id": "BIGINT", "user_id": "BIGINT", "kind": "VARCHAR", "currency": "VARCHAR",
        "balance": "BIGINT", "ledger_balance": "BIGINT", "entries": "BIGINT",
        "is_reconciled": "BOOLEAN",
    }, filters={"currency": "currency"}, scope={"user": "user_id"},
        description="ledger accounts and balances (current state)"),
    # Support marts carry no scope column: only unrestricted staff (support, analysts) see rows.
    Mart("marts", "fct_support_daily", {
        "day": "DATE", "opened": "BIGINT", "resolved": "BIGINT", "backlog": "BIGINT",
        "first_response_met": "BIGINT", "first_response_breached": "BIGINT",
        "resolution_met": "BIGINT", "resolution_breached": "BIGINT",
    }, date_column="day", description="support tickets, backlog and SLA per day"),
    Mart("marts", "fct_csat_daily", {
        "rating_date": "DATE", "responses": "BIGINT", "avg_rating": "DOUBLE", "csat": "DOUBLE",
    }, date_column="rating_date", description="customer satisfaction ratings per day"),
    # Marketplace, affiliates, franchises: money BIGINT minor units beside its currency; each
    # row carries the user id of the seller / affiliate / franchisee it belongs to.
    Mart("marts", "fct_orders_daily", {
        "order_date": "DATE", "currency": "VARCHAR", "seller_id": "BIGINT",
        "seller_user_id": "BIGINT", "orders_placed": "BIGINT", "orders_paid": "BIGINT",
        "orders_canceled": "BIGINT", "orders_returned": "BIGINT", "gmv_minor": "BIGINT",
        "platform_fees_minor": "BIGINT", "refunded_minor": "BIGINT",
    }, date_column="order_date", filters={"currency": "currency", "seller": "seller_id"},
        scope={"seller": "seller_user_id"},
        description="marketplace order events, GMV and fees per day, currency and seller"),
    Mart("marts", "seller_performance", {
        "seller_id": "BIGINT", "seller_user_id": "BIGINT", "shop_name": "VARCHAR",
        "seller_status": "VARCHAR", "currency": "VARCHAR", "orders_placed": "BIGINT",
        "orders_paid": "BIGINT", "orders_delivered": "BIGINT", "orders_canceled": "BIGINT",
        "orders_returned": "BIGINT", "gmv_minor": "BIGINT", "platform_fees_minor": "BIGINT",
        "refunded_minor": "BIGINT", "paid_out_minor": "BIGINT", "return_rate": "DOUBLE",
    }, filters={"currency": "currency", "seller": "seller_id"},
        scope={"seller": "seller_user_id"},
        description="lifetime orders and money per seller and currency"),
    Mart("marts", "fct_affiliate_commissions_daily", {
        "commission_date": "DATE", "affiliate_id": "BIGINT", "affiliate_user_id": "BIGINT",
        "currency": "VARCHAR", "status": "VARCHAR", "commissions": "BIGINT",
        "order_amount_minor": "BIGINT", "commission_minor": "BIGINT",
    }, date_column="commission_date", filters={"currency": "currency"},
        scope={"affiliate": "affiliate_user_id"},
        description="affiliate commissions per day, affiliate, currency and status"),
    Mart("marts", "affiliate_conversions", {
        "affiliate_id": "BIGINT", "affiliate_user_id": "BIGINT", "affiliate_status": "VARCHAR",
        "referrals": "BIGINT", "converted_referrals": "BIGINT",
        "commissioned_orders": "BIGINT", "conversion_rate": "DOUBLE",
    }, scope={"affiliate": "affiliate_user_id"},
        description="referrals and conversions per affiliate"),
    Mart("marts", "fct_territory_revenue_monthly", {
        "franchise_id": "BIGINT", "franchisee_user_id": "BIGINT", "territory_id": "BIGINT",
        "revenue_month": "DATE", "currency": "VARCHAR", "orders": "BIGINT",
        "gross_minor": "BIGINT", "net_minor": "BIGINT", "share_minor": "BIGINT",
    }, date_column="revenue_month", filters={"currency": "currency", "territory": "territory_id"},
        scope={"franchisee": "franchisee_user_id"},
        description="delivered orders and franchise share per territory, month and currency"),
    Mart("marts", "franchise_settlements", {
        "settlement_id": "BIGINT", "franchise_id": "BIGINT", "franchisee_user_id": "BIGINT",
        "period_start": "DATE", "currency": "VARCHAR", "share_basis": "VARCHAR",
        "share_bps": "BIGINT", "status": "VARCHAR", "order_count": "BIGINT",
        "gross_minor": "BIGINT", "net_minor": "BIGINT", "share_minor": "BIGINT",
        "posted_at": "TIMESTAMPTZ", "is_reconciled": "BOOLEAN",
    }, date_column="period_start", filters={"currency": "currency"},
        scope={"franchisee": "franchisee_user_id"},
        description="monthly franchise settlements (statements)"),
    Mart("marts", "dim_franchise_territories", {
        "territory_id": "BIGINT", "franchise_id": "BIGINT", "franchisee_user_id": "BIGINT",
        "franchise_name": "VARCHAR", "territory_name": "VARCHAR", "country": "VARCHAR",
        "region": "VARCHAR", "city": "VARCHAR", "exclusive": "BOOLEAN", "postal_codes": "BIGINT",
    }, filters={"territory": "territory_id"}, scope={"franchisee": "franchisee_user_id"},
        description="franchise territories with their country (ISO alpha-2)"),
    # Fraud (Trusty wallet): staff only. The daily mart has no scope column (scoped viewers see
    # nothing); held/blocked transfers carry the sender's user id.
    Mart("marts", "fct_fraud_decisions_daily", {
        "decision_date": "DATE", "currency": "VARCHAR", "verdict": "VARCHAR",
        "outcome": "VARCHAR", "top_rule": "VARCHAR", "decisions": "BIGINT",
        "amount_minor": "BIGINT", "distinct_users": "BIGINT", "score_total": "BIGINT",
        "max_score": "BIGINT",
    }, date_column="decision_date", filters={"currency": "currency"},
        description="fraud-scored transfers per day, currency, verdict, outcome and top rule"),
    Mart("marts", "fraud_holds", {
        "decision_id": "BIGINT", "decided_at": "TIMESTAMPTZ", "decision_date": "DATE",
        "user_id": "BIGINT", "to_user_id": "BIGINT", "currency": "VARCHAR",
        "amount_minor": "BIGINT", "score": "BIGINT", "verdict": "VARCHAR", "top_rule": "VARCHAR",
        "hold_kind": "VARCHAR", "case_id": "BIGINT", "request_id": "BIGINT", "status": "VARCHAR",
        "is_open": "BOOLEAN", "reviewer_id": "BIGINT", "reviewer_outcome": "VARCHAR",
        "outcome": "VARCHAR", "resolved_at": "TIMESTAMPTZ", "age_hours": "DOUBLE",
    }, date_column="decision_date", filters={"currency": "currency"}, scope={"user": "user_id"},
        description="held (fraud review, multisig approval) and blocked transfers with cases"),
    # AI marketplace: a buyer sees the rows of their own calls, a provider those of their
    # services; the reconciliation to the ledger is staff only (no scope column).
    Mart("marts", "fct_ai_usage_daily", {
        "usage_date": "DATE", "currency": "VARCHAR", "service_id": "BIGINT",
        "service_slug": "VARCHAR", "task": "VARCHAR", "provider_user_id": "BIGINT",
        "buyer_user_id": "BIGINT", "key_id": "BIGINT", "calls": "BIGINT", "succeeded": "BIGINT",
        "failed": "BIGINT", "fallbacks": "BIGINT", "tokens": "BIGINT", "charge_minor": "BIGINT",
        "provider_minor": "BIGINT", "fee_minor": "BIGINT", "avg_latency_ms": "DOUBLE",
        "p95_latency_ms": "DOUBLE", "avg_provider_latency_ms": "DOUBLE",
    }, date_column="usage_date", filters={"currency": "currency"},
        scope={"user": "buyer_user_id", "provider": "provider_user_id"},
        description="AI calls, tokens, spend and latency per day, service, buyer and key"),
    Mart("marts", "ai_ledger_reconciliation", {
        "ledger_date": "DATE", "currency": "VARCHAR", "ledger_transactions": "BIGINT",
        "billed_calls": "BIGINT", "ledger_debit_minor": "BIGINT", "calls_charge_minor": "BIGINT",
        "ledger_provider_minor": "BIGINT", "calls_provider_minor": "BIGINT",
        "ledger_fee_minor": "BIGINT", "calls_fee_minor": "BIGINT",
        "unmatched_transactions": "BIGINT", "unbilled_calls": "BIGINT",
        "mismatched_calls": "BIGINT", "is_reconciled": "BOOLEAN",
    }, date_column="ledger_date", filters={"currency": "currency"},
        description="AI call money against the ledger per day and currency"),
    Mart("ops", "quarantine", {
        "batch_id": "VARCHAR", "table_name": "VARCHAR", "row_pk": "VARCHAR",
        "expectation": "VARCHAR", "row_json": "VARCHAR", "quarantined_at": "TIMESTAMPTZ",
        "released_at": "TIMESTAMPTZ", "release_reason": "VARCHAR", "released_by_batch": "VARCHAR",
    }, date_column="quarantined_at",
        description="rows held back by validation; open while released_at is null"),
]}


def mart(name: str) -> Mart:
    try:
        return MARTS[name]
    except KeyError:
        raise KeyError(f"unknown mart {name!r}") from None
