"""The operational tables the warehouse ingests. Adding a table is one `Table(...)` entry.

cursor: "updated_at" (tracked tables; the trigger keeps it true) or "id" (append-only).
exclude: secrets that never leave PostgreSQL.
parents: column -> parent raw table (referential integrity, checked on every batch).
checks: Great Expectations expectations run on every ingested batch (see pipelines.validate):
  ("not_null", col...), ("unique", col), ("in_set", col, [values]), ("between", col, lo, hi),
  ("sum_zero", group_col, amount_col)  -- amounts that sum to zero per transaction.
set_null_on_delete: FK columns (ON DELETE SET NULL) of an append-only table: PostgreSQL nulls
  them without a trace in updated_at, so the warehouse applies the parent's deletes itself.
reconcile: (date column, money column or None) compared per day between PostgreSQL and raw.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Table:
    name: str
    domain: str
    pk: str = "id"
    cursor: str = "updated_at"
    exclude: tuple[str, ...] = ()
    parents: dict[str, str] = field(default_factory=dict)
    checks: tuple[tuple, ...] = ()
    set_null_on_delete: tuple[str, ...] = ()
    reconcile: tuple[str, str | None] = ("created_at", None)

    @property
    def append_only(self) -> bool:
        return self.cursor != "updated_at"


TABLES: tuple[Table, ...] = (
    Table("users", "users", exclude=("password_hash", "mfa_secret"),
          checks=(("not_null", "id", "email", "roles", "is_active", "created_at"),
                  ("unique", "email"),
                  ("match", "email", r"^[^@\s]+@[^@\s]+$"))),
    Table("refresh_tokens", "auth", exclude=("token_hash",), parents={"user_id": "users"},
          checks=(("not_null", "user_id", "family_id", "expires_at"),)),
    Table("email_tokens", "auth", exclude=("token_hash",), parents={"user_id": "users"},
          checks=(("not_null", "user_id", "purpose", "expires_at"),)),
    Table("mfa_recovery_codes", "auth", exclude=("code_hash",), parents={"user_id": "users"},
          checks=(("not_null", "user_id"),)),
    Table("login_throttles", "security", pk="key",
          checks=(("not_null", "failures"), ("between", "failures", 0, None))),
    Table("security_events", "security", cursor="id", parents={"user_id": "users"},
          set_null_on_delete=("user_id",),
          reconcile=("occurred_at", None),
          checks=(("not_null", "event_type", "occurred_at"),)),
    Table("notification_preferences", "notifications", parents={"user_id": "users"},
          checks=(("not_null", "user_id", "channel", "category", "enabled"),
                  ("in_set", "channel", ["email", "sms", "push"]))),
    Table("notification_delivery_attempts", "notifications", cursor="id",
          parents={"message_id": "notification_outbox"},
          checks=(("not_null", "message_id", "outcome", "created_at"),
                  ("between", "duration_ms", 0, None), ("between", "attempt", 1, None))),
    Table("complaint_tickets", "support", exclude=("resolution",),
          parents={"customer_id": "users", "assignee_id": "users"},
          checks=(("not_null", "customer_id", "status", "priority", "category",
                   "first_response_due_at", "resolution_due_at"),
                  ("in_set", "status", ["open", "pending", "resolved", "closed", "reopened"]),
                  ("in_set", "priority", ["low", "normal", "high", "urgent"]),
                  ("between", "reopen_count", 0, None))),
    Table("complaint_events", "support", cursor="id", set_null_on_delete=("actor_id",),
          parents={"ticket_id": "complaint_tickets", "actor_id": "users"},
          checks=(("not_null", "ticket_id", "kind", "created_at"),)),
    Table("complaint_messages", "support", cursor="id", exclude=("body",),
          set_null_on_delete=("author_id",),
          parents={"ticket_id": "complaint_tickets", "author_id": "users"},
          checks=(("not_null", "ticket_id", "author_role", "internal"),)),
    Table("complaint_feedback", "support", cursor="id", exclude=("comment",),
          parents={"ticket_id": "complaint_tickets", "customer_id": "users"},
          checks=(("not_null", "ticket_id", "customer_id", "rating"), ("unique", "ticket_id"),
                  ("between", "rating", 1, 5))),
    Table("wallet_accounts", "finance", exclude=("last_hash",), parents={"user_id": "users"},
          checks=(("not_null", "code", "kind", "currency", "balance"),
                  ("in_set", "kind", ["user", "hold", "vault", "system"]),
                  ("match", "currency", r"^[A-Z]{3}$"))),
    Table("wallet_transactions", "finance", cursor="id", exclude=("description",),
          set_null_on_delete=("initiated_by",), parents={"initiated_by": "users"},
          checks=(("not_null", "kind", "created_at"),)),
    Table("wallet_entries", "finance", cursor="id", exclude=("hash",),
          parents={"transaction_id": "wallet_transactions", "account_id": "wallet_accounts"},
          reconcile=("created_at", "amount"),
          checks=(("not_null", "transaction_id", "account_id", "amount", "currency"),
                  ("sum_zero", "transaction_id", "amount"))),
    Table("payment_intents", "finance", exclude=("description", "provider_ref"),
          parents={"user_id": "users", "payee_user_id": "users"},
          reconcile=("created_at", "amount_captured"),
          checks=(("not_null", "user_id", "amount", "currency", "status"),
                  ("between", "amount", 1, None), ("between", "amount_captured", 0, None),
                  ("between", "amount_refunded", 0, None), ("between", "fee_amount", 0, None))),
    Table("payment_refunds", "finance", exclude=("reason",),
          parents={"intent_id": "payment_intents"}, reconcile=("created_at", "amount"),
          checks=(("not_null", "intent_id", "amount", "status"), ("between", "amount", 1, None))),
    Table("notification_outbox", "notifications", exclude=("body", "payload"),
          parents={"user_id": "users"},
          checks=(("not_null", "channel", "category", "status"),
                  ("in_set", "channel", ["email", "sms", "push"]),
                  ("between", "attempts", 0, None))),
    # GoSeller marketplace (ship_name / ship_line1 and free texts stay in PostgreSQL)
    Table("goseller_sellers", "marketplace", exclude=("status_reason",),
          parents={"user_id": "users"},
          checks=(("not_null", "user_id", "shop_name", "status"), ("unique", "user_id"),
                  ("in_set", "status", ["pending", "verified", "suspended"]))),
    Table("goseller_products", "marketplace", parents={"seller_id": "goseller_sellers"},
          checks=(("not_null", "seller_id", "sku", "category", "price_minor", "currency"),
                  ("between", "price_minor", 1, None), ("between", "stock", 0, None),
                  ("match", "currency", r"^[A-Z]{3}$"))),
    Table("goseller_orders", "marketplace", exclude=("ship_name", "ship_line1", "cancel_reason"),
          parents={"buyer_id": "users", "seller_id": "goseller_sellers"},
          reconcile=("created_at", "subtotal_minor"),
          checks=(("not_null", "buyer_id", "seller_id", "status", "subtotal_minor",
                   "platform_fee_minor", "refunded_minor", "refund_status"),
                  ("in_set", "status", ["cart", "placed", "paid", "fulfilled", "delivered",
                                        "canceled", "returned"]),
                  ("in_set", "refund_status", ["none", "awaiting_ledger", "refunded"]),
                  ("between", "subtotal_minor", 0, None),
                  ("between", "platform_fee_minor", 0, None),
                  ("between", "refunded_minor", 0, None))),
    Table("goseller_order_items", "marketplace",
          parents={"order_id": "goseller_orders", "product_id": "goseller_products"},
          checks=(("not_null", "order_id", "product_id", "qty"), ("between", "qty", 1, None),
                  ("between", "unit_price_minor", 0, None))),
    Table("goseller_payouts", "marketplace",
          parents={"order_id": "goseller_orders", "seller_id": "goseller_sellers"},
          reconcile=("created_at", "net_minor"),
          checks=(("not_null", "order_id", "seller_id", "currency", "gross_minor", "fee_minor",
                   "net_minor", "status"), ("unique", "order_id"),
                  ("in_set", "status", ["awaiting_ledger", "paid"]),
                  ("between", "gross_minor", 0, None), ("between", "fee_minor", 0, None),
                  ("between", "net_minor", 0, None))),
    # Affiliates (website and free texts stay in PostgreSQL)
    Table("affiliates", "affiliates", exclude=("website", "status_reason"),
          parents={"user_id": "users"},
          checks=(("not_null", "user_id", "code", "status"), ("unique", "user_id"),
                  ("unique", "code"),
                  ("in_set", "status", ["pending", "approved", "rejected", "suspended"]))),
    Table("affiliate_referrals", "affiliates",
          parents={"affiliate_id": "affiliates", "referred_user_id": "users"},
          checks=(("not_null", "affiliate_id", "referred_user_id", "kind", "first_touch_at",
                   "expires_at"), ("unique", "referred_user_id"),
                  ("in_set", "kind", ["signup", "visit"]))),
    Table("affiliate_commissions", "affiliates", exclude=("breakdown",),
          parents={"affiliate_id": "affiliates", "referral_id": "affiliate_referrals",
                   "order_id": "goseller_orders"},
          reconcile=("created_at", "commission_minor"),
          checks=(("not_null", "affiliate_id", "referral_id", "order_id", "period", "currency",
                   "order_amount_minor", "commission_minor", "status"), ("unique", "order_id"),
                  ("in_set", "status", ["pending", "approved", "reversed", "paid"]),
                  ("between", "order_amount_minor", 0, None),
                  ("between", "commission_minor", 0, None))),
    # Franchises
    Table("franchises", "franchises", parents={"owner_user_id": "users"},
          checks=(("not_null", "owner_user_id", "name", "status", "share_basis", "share_bps"),
                  ("unique", "name"), ("in_set", "status", ["active", "suspended"]),
                  ("in_set", "share_basis", ["gross", "net"]),
                  ("between", "share_bps", 0, 10000))),
    Table("franchise_territories", "franchises", parents={"franchise_id": "franchises"},
          checks=(("not_null", "franchise_id", "name", "country", "exclusive"),)),
    Table("franchise_postal_claims", "franchises",
          parents={"territory_id": "franchise_territories"},
          checks=(("not_null", "territory_id", "country", "postal_code", "exclusive"),)),
    Table("franchise_order_attributions", "franchises",
          parents={"order_id": "goseller_orders", "territory_id": "franchise_territories",
                   "franchise_id": "franchises"},
          checks=(("not_null", "order_id", "territory_id", "franchise_id"),
                  ("unique", "order_id"))),
    Table("franchise_settlements", "franchises", parents={"franchise_id": "franchises"},
          reconcile=("created_at", "share_minor"),
          checks=(("not_null", "franchise_id", "period_start", "currency", "order_count",
                   "gross_minor", "net_minor", "share_minor", "status"),
                  ("in_set", "status", ["awaiting_ledger", "posted"]),
                  ("between", "order_count", 0, None), ("between", "gross_minor", 0, None),
                  ("between", "net_minor", 0, None), ("between", "share_minor", 0, None))),
    Table("franchise_settlement_lines", "franchises",
          parents={"settlement_id": "franchise_settlements", "order_id": "goseller_orders"},
          reconcile=("created_at", "share_minor"),
          checks=(("not_null", "settlement_id", "order_id", "gross_minor", "net_minor",
                   "share_minor"), ("unique", "order_id"),
                  ("between", "gross_minor", 0, None), ("between", "net_minor", 0, None),
                  ("between", "share_minor", 0, None))),
    # Trusty wallet: multisig policies and approval requests, fraud decisions and their cases.
    # fraud_decisions has no updated_at: it is read by id; the only later change (the outcome
    # of a reviewed hold) is taken from fraud_cases in the warehouse (stg_ehb__fraud_decisions).
    Table("trusty_policies", "trusty", parents={"user_id": "users"},
          checks=(("not_null", "user_id", "currency", "threshold", "required"),
                  ("between", "threshold", 1, None), ("between", "required", 1, None),
                  ("match", "currency", r"^[A-Z]{3}$"))),
    Table("trusty_requests", "trusty",
          parents={"policy_id": "trusty_policies", "requester_id": "users", "to_user_id": "users"},
          reconcile=("created_at", "amount"),
          checks=(("not_null", "policy_id", "requester_id", "kind", "amount", "currency",
                   "status", "expires_at"),
                  ("in_set", "kind", ["transfer", "vault_deposit", "vault_withdrawal"]),
                  ("in_set", "status", ["pending", "approved", "executed", "rejected",
                                        "expired", "canceled"]),
                  ("between", "amount", 1, None))),
    Table("trusty_approvals", "trusty", cursor="id",
          parents={"request_id": "trusty_requests", "approver_id": "users"},
          checks=(("not_null", "request_id", "approver_id", "decision", "created_at"),
                  ("in_set", "decision", ["approve", "reject"]))),
    Table("fraud_decisions", "trusty", cursor="id", exclude=("device_id",),
          parents={"user_id": "users"}, reconcile=("created_at", "amount"),
          checks=(("not_null", "user_id", "action", "amount", "currency", "score", "decision",
                   "outcome", "created_at"),
                  ("in_set", "decision", ["allow", "review", "block"]),
                  ("in_set", "outcome", ["pending", "posted", "held", "refused", "failed"]),
                  ("between", "score", 0, None), ("between", "amount", 0, None))),
    Table("fraud_cases", "trusty", exclude=("note",),
          parents={"decision_id": "fraud_decisions", "user_id": "users",
                   "to_user_id": "users", "reviewer_id": "users"},
          reconcile=("created_at", "amount"),
          checks=(("not_null", "decision_id", "user_id", "to_user_id", "amount", "currency",
                   "status"), ("unique", "decision_id"),
                  ("in_set", "status", ["open", "approved", "rejected"]),
                  ("between", "amount", 1, None))),
)

BY_NAME = {t.name: t for t in TABLES}
