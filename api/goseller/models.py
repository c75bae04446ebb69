"""GoSeller tables: sellers, products, orders (a cart is an order in status 'cart'), order
items with price snapshots, and payouts (one per order, enforced by a unique constraint)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, TimestampMixin

SELLER_STATUSES = ("pending", "verified", "suspended")
ORDER_STATUSES = ("cart", "placed", "paid", "fulfilled", "delivered", "canceled", "returned")
REFUND_STATUSES = ("none", "awaiting_ledger", "refunded")
PAYOUT_STATUSES = ("awaiting_ledger", "paid")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Seller(TimestampMixin, Base):
    __tablename__ = "goseller_sellers"
    __table_args__ = (CheckConstraint(_in("status", SELLER_STATUSES), name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), unique=True)
    shop_name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    status_reason: Mapped[str | None] = mapped_column(Text)
    verified_at: Mapped[datetime | None]
    status_changed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


class Product(TimestampMixin, Base):
    __tablename__ = "goseller_products"
    __table_args__ = (
        UniqueConstraint("seller_id", "sku"),
        CheckConstraint("price_minor > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_not_negative"),
        CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("goseller_sellers.id", ondelete="RESTRICT"),
                                           index=True)
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(64), index=True)
    price_minor: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    stock: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True)


class Order(TimestampMixin, Base):
    __tablename__ = "goseller_orders"
    __table_args__ = (
        CheckConstraint(_in("status", ORDER_STATUSES), name="status"),
        CheckConstraint(_in("refund_status", REFUND_STATUSES), name="refund_status"),
        CheckConstraint("subtotal_minor >= 0 AND platform_fee_minor >= 0 "
                        "AND platform_fee_minor <= subtotal_minor", name="amounts"),
        CheckConstraint("refunded_minor >= 0 AND refunded_minor <= subtotal_minor",
                        name="refund_bounded"),
        # One open cart per buyer and seller.
        Index("uq_goseller_orders_open_cart", "buyer_id", "seller_id", unique=True,
              postgresql_where=text("status = 'cart'")),
        Index("ix_goseller_orders_payout_due", "return_deadline",
              postgresql_where=text("status = 'delivered'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    buyer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("goseller_sellers.id", ondelete="RESTRICT"),
                                           index=True)
    status: Mapped[str] = mapped_column(String(16), default="cart")
    currency: Mapped[str | None] = mapped_column(String(3))
    subtotal_minor: Mapped[int] = mapped_column(default=0)
    platform_fee_minor: Mapped[int] = mapped_column(default=0)
    refunded_minor: Mapped[int] = mapped_column(default=0)
    refund_status: Mapped[str] = mapped_column(String(16), default="none")
    refund_ref: Mapped[str | None] = mapped_column(String(128))
    payment_ref: Mapped[str | None] = mapped_column(String(128))
    # The payment intent (wallet-balance method) that moved the total into escrow; NULL for
    # orders paid before payments went through intents (refunded through the ledger directly).
    payment_intent_id: Mapped[int | None] = mapped_column(
        ForeignKey("payment_intents.id", ondelete="RESTRICT"), unique=True)
    ship_name: Mapped[str | None] = mapped_column(String(120))
    ship_line1: Mapped[str | None] = mapped_column(String(200))
    ship_city: Mapped[str | None] = mapped_column(String(120))
    ship_region: Mapped[str | None] = mapped_column(String(120))
    ship_postal_code: Mapped[str | None] = mapped_column(String(16))
    ship_country: Mapped[str | None] = mapped_column(String(2))
    placed_at: Mapped[datetime | None]
    paid_at: Mapped[datetime | None]
    fulfilled_at: Mapped[datetime | None]
    delivered_at: Mapped[datetime | None]
    return_deadline: Mapped[datetime | None]
    canceled_at: Mapped[datetime | None]
    returned_at: Mapped[datetime | None]
    cancel_reason: Mapped[str | None] = mapped_column(Text)


class OrderItem(TimestampMixin, Base):
    __tablename__ = "goseller_order_items"
    __table_args__ = (
        UniqueConstraint("order_id", "product_id"),
        CheckConstraint("qty > 0", name="qty_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("goseller_orders.id", ondelete="CASCADE"),
                                          index=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("goseller_products.id",
                                                       ondelete="RESTRICT"), index=True)
    qty: Mapped[int]
    # Snapshots taken at placement (the catalog may change afterwards).
    unit_price_minor: Mapped[int | None]
    currency: Mapped[str | None] = mapped_column(String(3))
    category: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(String(200))


class Payout(TimestampMixin, Base):
    """Seller's share of one delivered order once its return window has passed. The unique
    order_id makes a double payout impossible even when two payout runs race."""

    __tablename__ = "goseller_payouts"
    __table_args__ = (
        CheckConstraint(_in("status", PAYOUT_STATUSES), name="status"),
        CheckConstraint("net_minor = gross_minor - fee_minor AND net_minor >= 0", name="net"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("goseller_orders.id", ondelete="RESTRICT"),
                                          unique=True)
    seller_id: Mapped[int] = mapped_column(ForeignKey("goseller_sellers.id", ondelete="RESTRICT"),
                                           index=True)
    currency: Mapped[str] = mapped_column(String(3))
    gross_minor: Mapped[int]
    fee_minor: Mapped[int]
    net_minor: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="awaiting_ledger")
    ledger_ref: Mapped[str | None] = mapped_column(String(128))
    paid_at: Mapped[datetime | None]
