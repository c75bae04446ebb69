"""Payment methods, payment intents, refunds and received provider webhooks."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, func, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.core.fieldcrypt import EncryptedString
from api.db import Base, TimestampMixin

# System accounts an intent may capture into instead of the payee's wallet: `payouts` is the
# marketplace escrow, where an order's money waits until the seller's payout or a refund.
ESCROW_ACCOUNTS = ("payouts",)
INTENT_STATUSES = ("requires_payment_method", "processing", "requires_capture", "succeeded",
                   "failed", "canceled")


class PaymentMethod(TimestampMixin, Base):
    """card: provider token + encrypted fingerprint + last4 (never the number);
    bank_account: encrypted account number + last4; wallet: pays from the wallet balance."""

    __tablename__ = "payment_methods"
    __table_args__ = (
        CheckConstraint("kind IN ('card','bank_account','wallet')", name="kind"),
        # One active wallet-balance method per user, so concurrent first payments share it.
        Index("uq_payment_methods_one_wallet", "user_id", unique=True,
              postgresql_where=text("kind = 'wallet' AND is_active")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    provider: Mapped[str] = mapped_column(String(32), default="simulated")
    card_token: Mapped[str | None] = mapped_column(String(128))
    card_fingerprint: Mapped[str | None] = mapped_column(
        EncryptedString("payment_methods.card_fingerprint"))
    card_brand: Mapped[str | None] = mapped_column(String(16))
    bank_account_number: Mapped[str | None] = mapped_column(
        EncryptedString("payment_methods.bank_account_number"))
    bank_routing: Mapped[str | None] = mapped_column(String(32))
    last4: Mapped[str | None] = mapped_column(String(4))
    is_active: Mapped[bool] = mapped_column(default=True)


class PaymentIntent(TimestampMixin, Base):
    __tablename__ = "payment_intents"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("amount_captured <= amount", name="captured_le_amount"),
        CheckConstraint("amount_refunded <= amount_captured", name="refunded_le_captured"),
        Index("ix_payment_intents_status_changed", "status", "status_changed_at"),
        CheckConstraint("payee_account IS NULL OR (payee_user_id IS NOT NULL AND payee_account "
                        f"IN ({', '.join(repr(a) for a in ESCROW_ACCOUNTS)}))",
                        name="payee_account"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)  # the payer
    payee_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: top-up
    # Set: the capture is held in this escrow system account for the payee (who is paid out
    # later by the service owning the escrow) instead of reaching the payee's wallet.
    payee_account: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(32), default="requires_payment_method")
    status_changed_at: Mapped[datetime] = mapped_column(server_default=func.now())
    capture_method: Mapped[str] = mapped_column(String(16), default="automatic")
    payment_method_id: Mapped[int | None] = mapped_column(ForeignKey("payment_methods.id"))
    provider: Mapped[str] = mapped_column(String(32), default="simulated")
    provider_ref: Mapped[str | None] = mapped_column(String(64), unique=True)
    amount_captured: Mapped[int] = mapped_column(default=0)
    amount_refunded: Mapped[int] = mapped_column(default=0)
    fee_amount: Mapped[int] = mapped_column(default=0)
    failure_code: Mapped[str | None] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(300), default="")
    authorization_tx_id: Mapped[int | None]  # ledger transaction holding wallet funds
    capture_tx_id: Mapped[int | None]


class Refund(TimestampMixin, Base):
    __tablename__ = "payment_refunds"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    intent_id: Mapped[int] = mapped_column(ForeignKey("payment_intents.id"), index=True)
    amount: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="succeeded")
    ledger_transaction_id: Mapped[int | None]
    reason: Mapped[str] = mapped_column(String(200), default="")


class WebhookEvent(Base):
    """Every verified provider event, once: the unique (provider, event_id) deduplicates."""

    __tablename__ = "payment_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_payment_webhook_events_event"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider: Mapped[str] = mapped_column(String(32))
    event_id: Mapped[str] = mapped_column(String(128))
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONB)
    outcome: Mapped[str] = mapped_column(String(64), default="")
    received_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
