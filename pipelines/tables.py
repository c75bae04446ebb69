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
)

BY_NAME = {t.name: t for t in TABLES}
