"""Franchise tables. Exclusivity lives in the database: every postal code a territory covers
is a row of franchise_postal_claims, and a partial unique index on (country, postal_code)
WHERE exclusive makes two exclusive territories overlapping impossible, even under races."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, TimestampMixin


class Franchise(TimestampMixin, Base):
    __tablename__ = "franchises"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'suspended')", name="status"),
        CheckConstraint("share_basis IN ('gross', 'net')", name="share_basis"),
        CheckConstraint("share_bps >= 0 AND share_bps <= 10000", name="share_bps"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    owner_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"),
                                               index=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    status: Mapped[str] = mapped_column(String(16), default="active")
    # Revenue share: share_bps of the gross (order subtotal) or net (minus platform fee).
    share_basis: Mapped[str] = mapped_column(String(8))
    share_bps: Mapped[int]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Territory(TimestampMixin, Base):
    __tablename__ = "franchise_territories"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    franchise_id: Mapped[int] = mapped_column(ForeignKey("franchises.id", ondelete="RESTRICT"),
                                              index=True)
    name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    region: Mapped[str | None] = mapped_column(String(120))
    city: Mapped[str | None] = mapped_column(String(120))
    exclusive: Mapped[bool] = mapped_column(default=True)


class PostalClaim(TimestampMixin, Base):
    __tablename__ = "franchise_postal_claims"
    __table_args__ = (
        UniqueConstraint("territory_id", "country", "postal_code"),
        Index("uq_franchise_postal_claims_exclusive", "country", "postal_code", unique=True,
              postgresql_where=text("exclusive")),
        Index("ix_franchise_postal_claims_lookup", "country", "postal_code"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("franchise_territories.id",
                                                         ondelete="CASCADE"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(16))
    exclusive: Mapped[bool]


class OrderAttribution(TimestampMixin, Base):
    """The territory a GoSeller order was delivered into, fixed at placement."""

    __tablename__ = "franchise_order_attributions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("goseller_orders.id", ondelete="RESTRICT"),
                                          unique=True)
    territory_id: Mapped[int] = mapped_column(ForeignKey("franchise_territories.id",
                                                         ondelete="RESTRICT"), index=True)
    franchise_id: Mapped[int] = mapped_column(ForeignKey("franchises.id", ondelete="RESTRICT"),
                                              index=True)
    country: Mapped[str] = mapped_column(String(2))
    postal_code: Mapped[str] = mapped_column(String(16))


class Settlement(TimestampMixin, Base):
    """One monthly statement per franchise and currency (unique), its lines one per order."""

    __tablename__ = "franchise_settlements"
    __table_args__ = (
        UniqueConstraint("franchise_id", "period_start", "currency"),
        CheckConstraint("status IN ('awaiting_ledger', 'posted')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    franchise_id: Mapped[int] = mapped_column(ForeignKey("franchises.id", ondelete="RESTRICT"),
                                              index=True)
    period_start: Mapped[date]
    currency: Mapped[str] = mapped_column(String(3))
    share_basis: Mapped[str] = mapped_column(String(8))
    share_bps: Mapped[int]
    order_count: Mapped[int]
    gross_minor: Mapped[int]
    net_minor: Mapped[int]
    share_minor: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="awaiting_ledger")
    ledger_ref: Mapped[str | None] = mapped_column(String(128))
    posted_at: Mapped[datetime | None]


class SettlementLine(TimestampMixin, Base):
    __tablename__ = "franchise_settlement_lines"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("franchise_settlements.id",
                                                          ondelete="CASCADE"), index=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("goseller_orders.id", ondelete="RESTRICT"),
                                          unique=True)  # an order is settled once
    gross_minor: Mapped[int]
    net_minor: Mapped[int]
    share_minor: Mapped[int]
