"""Double-entry ledger: accounts (user wallets, holds, vaults and system accounts), journal
transactions, append-only entries chained per account by SHA-256, and idempotency keys.

Balances live on the account row and change only inside `wallet_post` (the PL/pgSQL function
of migration 0100_wallet), in the same database transaction as the entries that explain them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, TimestampMixin

GENESIS_HASH = "0" * 64

# kind: user (a wallet) | hold (funds reserved while an approval is pending) | vault (cold
# storage) | system (clearing, fees, payouts, adjustments: user_id NULL).
ACCOUNT_KINDS = ("user", "hold", "vault", "system")


class LedgerAccount(TimestampMixin, Base):
    __tablename__ = "wallet_accounts"
    __table_args__ = (
        CheckConstraint("allow_negative OR balance >= 0", name="no_overdraft"),
        CheckConstraint("kind IN ('user','hold','vault','system')", name="kind"),
        CheckConstraint("(kind = 'system') = (user_id IS NULL)", name="owner"),
        Index("uq_wallet_accounts_owner", "user_id", "kind", "currency", unique=True,
              postgresql_where=text("user_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(120), unique=True)  # e.g. user:12:USD, system:fees:USD
    kind: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    currency: Mapped[str] = mapped_column(String(3))
    balance: Mapped[int] = mapped_column(default=0, server_default="0")
    allow_negative: Mapped[bool] = mapped_column(default=False, server_default="false")
    # Head of this account's hash chain: the sequence number and hash of its last entry.
    last_seq: Mapped[int] = mapped_column(default=0, server_default="0")
    last_hash: Mapped[str] = mapped_column(String(64), default=GENESIS_HASH,
                                           server_default=GENESIS_HASH)


class LedgerTransaction(Base):
    """A journal transaction: two or more entries summing to zero per currency. Append-only;
    a correction is a new transaction whose `reverses_id` names the one it undoes."""

    __tablename__ = "wallet_transactions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    description: Mapped[str] = mapped_column(String(300), default="", server_default="")
    initiated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("wallet_transactions.id"))
    details: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict, server_default="{}")
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)


class LedgerEntry(Base):
    """One posting. hash = sha256(previous hash of the account | account | seq | transaction |
    amount | currency | balance_after | created_at in µs); see service.entry_hash."""

    __tablename__ = "wallet_entries"
    __table_args__ = (UniqueConstraint("account_id", "seq", name="uq_wallet_entries_account_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    transaction_id: Mapped[int] = mapped_column(ForeignKey("wallet_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("wallet_accounts.id"))
    seq: Mapped[int]
    amount: Mapped[int]  # signed: negative leaves the account, positive enters it
    currency: Mapped[str] = mapped_column(String(3))
    balance_after: Mapped[int]
    hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class ApprovalLimit(Base):
    """Money leaving a user's wallet in `currency` for someone else's account, `threshold` or
    more in one transaction, needs an approval first: `wallet_post` refuses it (403
    `approval_required`) on every route. Written by the owner's multisig policy (trusty);
    see api.wallet.approval_sql for what passes (moves into the owner's own hold or vault,
    refunds, reversals)."""

    __tablename__ = "wallet_approval_limits"
    __table_args__ = (CheckConstraint("threshold > 0", name="threshold_positive"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    threshold: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class IdempotencyKey(Base):
    """Stripe-style keys: the row is inserted first in the same transaction as the work, so
    concurrent requests with one key serialize on its unique index and execute once; the
    first outcome, a refusal included, is stored and replayed."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("owner", "key", name="uq_idempotency_keys_owner_key"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    owner: Mapped[str] = mapped_column(String(64))  # "user:<id>" or "provider:<name>"
    key: Mapped[str] = mapped_column(String(255))
    scope: Mapped[str] = mapped_column(String(64))  # the operation, e.g. wallet.transfer
    request_hash: Mapped[str] = mapped_column(String(64))
    response_status: Mapped[int | None]
    response_body: Mapped[Any | None] = mapped_column(JSONB)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
    completed_at: Mapped[datetime | None]


