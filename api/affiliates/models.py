"""Affiliate tables: affiliates with a referral code, referrals (first touch per user),
commission rules (per category, tiered by monthly volume) and commissions (one per order)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, TimestampMixin

AFFILIATE_STATUSES = ("pending", "approved", "rejected", "suspended")
COMMISSION_STATUSES = ("pending", "approved", "reversed", "paid")
DEFAULT_CATEGORY = "*"


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Affiliate(TimestampMixin, Base):
    __tablename__ = "affiliates"
    __table_args__ = (CheckConstraint(_in("status", AFFILIATE_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), unique=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    website: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(Text)
    approved_at: Mapped[datetime | None]
    status_changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id",
                                                                     ondelete="SET NULL"))


class Referral(TimestampMixin, Base):
    """The first touch of a user through an affiliate's code or link. One live row per user;
    once expires_at passes, a new touch may replace it."""

    __tablename__ = "affiliate_referrals"
    __table_args__ = (CheckConstraint("kind IN ('signup', 'visit')", name="kind"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    affiliate_id: Mapped[int] = mapped_column(ForeignKey("affiliates.id", ondelete="RESTRICT"),
                                              index=True)
    referred_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                  unique=True)
    kind: Mapped[str] = mapped_column(String(8))
    first_touch_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class CommissionRule(TimestampMixin, Base):
    """rate_bps applies to an order line of `category` ('*' = any other) once the affiliate's
    volume this month (in `currency`) has reached min_monthly_volume_minor."""

    __tablename__ = "affiliate_commission_rules"
    __table_args__ = (
        UniqueConstraint("category", "currency", "min_monthly_volume_minor"),
        CheckConstraint("rate_bps >= 0 AND rate_bps <= 10000", name="rate"),
        CheckConstraint("min_monthly_volume_minor >= 0", name="volume"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(String(64), default=DEFAULT_CATEGORY)
    currency: Mapped[str] = mapped_column(String(3))
    min_monthly_volume_minor: Mapped[int] = mapped_column(default=0)
    rate_bps: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)


class Commission(TimestampMixin, Base):
    """One per order (unique order_id): pending at payment, approved after the return window,
    paid to the affiliate's wallet, or reversed when the order is canceled or returned."""

    __tablename__ = "affiliate_commissions"
    __table_args__ = (
        CheckConstraint(_in("status", COMMISSION_STATUSES), name="status"),
        CheckConstraint("commission_minor >= 0 AND commission_minor <= order_amount_minor",
                        name="amount"),
        Index("ix_affiliate_commissions_affiliate_period", "affiliate_id", "period", "currency"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    affiliate_id: Mapped[int] = mapped_column(ForeignKey("affiliates.id", ondelete="RESTRICT"))
    referral_id: Mapped[int] = mapped_column(ForeignKey("affiliate_referrals.id",
                                                        ondelete="RESTRICT"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("goseller_orders.id", ondelete="RESTRICT"),
                                          unique=True)
    period: Mapped[date]  # first day of the month the order was paid (volume tiers)
    currency: Mapped[str] = mapped_column(String(3))
    order_amount_minor: Mapped[int]
    commission_minor: Mapped[int]
    breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSONB, default=list)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    approved_at: Mapped[datetime | None]
    reversed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    ledger_ref: Mapped[str | None] = mapped_column(String(128))
