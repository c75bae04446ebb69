"""Orders: cart → placed → paid → fulfilled → delivered, or canceled, or returned with a
refund. Payment (a wallet-balance payment intent), refunds (that intent's refund) and payouts
move money only through money.py.
Stock is reserved at placement by a conditional UPDATE (stock >= qty), so concurrent
buyers can never oversell; it is released on cancel and restocked on return."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, exists, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from api.core.errors import AppError, Conflict, NotFound, Unprocessable
from api.goseller import events, money
from api.goseller.config import goseller_settings
from api.goseller.models import Order, OrderItem, Payout, Product, Seller
from api.goseller.service import active_seller, seller_of_user, utcnow

log = logging.getLogger("ehb.goseller")


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    city: str
    region: str | None
    postal_code: str  # normalized (address.normalize_postal_code)
    country: str  # ISO alpha-2


def _items(session: Session, order_id: int) -> list[OrderItem]:
    return list(session.scalars(select(OrderItem).where(OrderItem.order_id == order_id)
                                .order_by(OrderItem.product_id)))


def _buyer_order(session: Session, buyer_id: int, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id, Order.buyer_id == buyer_id)
                           .with_for_update())
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def _seller_order(session: Session, seller: Seller, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id,
                                               Order.seller_id == seller.id,
                                               Order.status != "cart").with_for_update())
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def _require(order: Order, *allowed: str, action: str) -> None:
    if order.status not in allowed:
        raise Conflict(f"cannot {action} an order that is {order.status}",
                       code="bad_order_state", details={"status": order.status})


# ---- buyer ---------------------------------------------------------------------------------

def set_cart_item(session: Session, buyer_id: int, product_id: int, qty: int) -> Order:
    """Put qty of a product in the buyer's cart for that product's seller (0 removes it)."""
    if qty < 0:
        raise Unprocessable("qty cannot be negative", code="bad_qty")
    row = session.execute(select(Product, Seller).join(Seller, Seller.id == Product.seller_id)
                          .where(Product.id == product_id)).first()
    if qty == 0 and row is not None:  # removing works even for a product no longer sold
        cart = session.scalar(select(Order).where(
            Order.buyer_id == buyer_id, Order.seller_id == row.Seller.id,
            Order.status == "cart").with_for_update())
        if cart is None:
            raise NotFound("no cart with this product's seller", code="cart_not_found")
        session.execute(delete(OrderItem).where(OrderItem.order_id == cart.id,
                                                OrderItem.product_id == product_id))
        session.commit()
        return cart
    if row is None or not row.Product.active or row.Seller.status != "verified":
        raise NotFound(f"product {product_id} not found")
    product, seller = row
    if seller.user_id == buyer_id:
        raise Unprocessable("you cannot buy from your own shop", code="own_product")
    if qty > product.stock:
        raise Conflict(f"only {product.stock} in stock", code="insufficient_stock",
                       details={"product_id": product_id, "available": product.stock})
    session.execute(pg_insert(Order).values(buyer_id=buyer_id, seller_id=seller.id,
                                            status="cart")
                    .on_conflict_do_nothing(index_elements=["buyer_id", "seller_id"],
                                            # literal: a bound parameter here stops
                                            # PostgreSQL matching the partial index once
                                            # psycopg prepares the statement
                                            index_where=text("status = 'cart'")))
    cart = session.scalar(select(Order).where(Order.buyer_id == buyer_id,
                                              Order.seller_id == seller.id,
                                              Order.status == "cart").with_for_update())
    other = session.scalar(select(Product.currency).join(OrderItem,
                                                         OrderItem.product_id == Product.id)
                           .where(OrderItem.order_id == cart.id,
                                  Product.currency != product.currency).limit(1))
    if other:
        raise Unprocessable(f"your cart with this seller is in {other}; this product is "
                            f"in {product.currency}", code="currency_mismatch")
    session.execute(pg_insert(OrderItem).values(order_id=cart.id, product_id=product_id,
                                                qty=qty)
                    .on_conflict_do_update(index_elements=["order_id", "product_id"],
                                           set_={"qty": qty}))
    cart.currency = product.currency
    session.commit()
    return cart


def order_items(session: Session, order_id: int) -> list[OrderItem]:
    return _items(session, order_id)


def get_buyer_order(session: Session, buyer_id: int, order_id: int) -> Order:
    order = session.scalar(select(Order).where(Order.id == order_id, Order.buyer_id == buyer_id))
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def is_order_party(session: Session, user_id: int, order_id: int) -> bool:
    """Whether the user bought or sold this placed order (complaints check what a ticket
    names; a cart is nobody's order yet)."""
    return bool(session.scalar(select(exists().where(
        Order.id == order_id, Order.status != "cart",
        (Order.buyer_id == user_id) | Order.seller_id.in_(
            select(Seller.id).where(Seller.user_id == user_id))))))


def list_buyer_orders(session: Session, buyer_id: int, status: str | None, limit: int,
                      offset: int) -> list[Order]:
    stmt = select(Order).where(Order.buyer_id == buyer_id)
    if status:
        stmt = stmt.where(Order.status == status)
    return list(session.scalars(stmt.order_by(Order.id.desc()).limit(limit).offset(offset)))


def place_order(session: Session, buyer_id: int, order_id: int, address: Address,
                now: datetime | None = None) -> Order:
    now = now or utcnow()
    order = _buyer_order(session, buyer_id, order_id)
    _require(order, "cart", action="place")
    items = _items(session, order.id)
    if not items:
        raise Unprocessable("the cart is empty", code="empty_cart")
    seller = session.get(Seller, order.seller_id)
    if seller.status != "verified":
        raise Conflict("this shop is not accepting orders", code="seller_unavailable")
    subtotal, currencies = 0, set()
    for item in items:  # product-id order: concurrent placements lock rows in one order
        row = session.execute(
            update(Product)
            .where(Product.id == item.product_id, Product.active.is_(True),
                   Product.stock >= item.qty)
            .values(stock=Product.stock - item.qty)
            .returning(Product.price_minor, Product.currency, Product.category, Product.title)
        ).first()
        if row is None:
            session.rollback()
            raise Conflict(f"product {item.product_id} is out of stock or no longer sold",
                           code="insufficient_stock", details={"product_id": item.product_id})
        item.unit_price_minor, item.currency, item.category, item.title = row
        currencies.add(row.currency)
        subtotal += row.price_minor * item.qty
    if len(currencies) != 1:
        session.rollback()
        raise Unprocessable("the cart mixes currencies", code="currency_mismatch")
    order.currency = currencies.pop()
    order.subtotal_minor = subtotal
    order.platform_fee_minor = subtotal * goseller_settings().platform_fee_bps // 10_000
    order.ship_name, order.ship_line1, order.ship_city = address.name, address.line1, address.city
    order.ship_region, order.ship_postal_code = address.region, address.postal_code
    order.ship_country = address.country
    order.status, order.placed_at = "placed", now
    session.flush()
    events.emit(session, "placed", order, now)
    session.commit()
    return order


class PaymentProcessing(AppError):
    status_code, code = 409, "payment_processing"


def _top_up(session: Session, buyer_id: int, order_id: int, payment_method_id: int) -> None:
    """Its own unit of work: the top-up intent and its ledger postings commit whatever happens
    to the order afterwards (the money is then in the buyer's wallet)."""
    order = _buyer_order(session, buyer_id, order_id)
    _require(order, "placed", action="pay")
    intent = money.top_up_for_order(session, order, payment_method_id)
    session.commit()
    if intent is None or intent.status == "succeeded":
        return
    if intent.status == "failed":
        raise money.PaymentDeclined(f"the payment method was declined ({intent.failure_code})",
                              details={"intent_id": intent.id})
    raise PaymentProcessing("the card payment is still processing; the top-up reaches your "
                            "wallet when it completes, then pay again",
                            details={"intent_id": intent.id, "status": intent.status})


def pay_order(session: Session, buyer_id: int, order_id: int, now: datetime | None = None,
              payment_method_id: int | None = None) -> Order:
    """Pay through a wallet-balance payment intent into escrow (money seam) and mark the order
    paid, in one transaction: the order row lock makes a second (or concurrent) payment a 409.
    With a card or bank payment method, a top-up intent first covers what the wallet lacks."""
    now = now or utcnow()
    if payment_method_id is not None:
        _top_up(session, buyer_id, order_id, payment_method_id)
    try:
        order = _buyer_order(session, buyer_id, order_id)
        _require(order, "placed", action="pay")
        intent = money.charge_order(session, order)
        order.payment_intent_id = intent.id
        order.payment_ref = money.ref(intent.capture_tx_id)
        order.status, order.paid_at = "paid", now
        session.flush()
        events.emit(session, "paid", order, now)
        session.commit()
    except BaseException:
        session.rollback()  # a refusal leaves no intent, posting or order change behind
        raise
    return order


def _release_stock(session: Session, order: Order) -> None:
    for item in _items(session, order.id):
        session.execute(update(Product).where(Product.id == item.product_id)
                        .values(stock=Product.stock + item.qty))


def _refund_all(session: Session, order: Order) -> None:
    amount = order.subtotal_minor - order.refunded_minor
    if amount <= 0:
        return
    order.refund_ref = money.refund_order(session, order, amount)
    order.refunded_minor += amount
    order.refund_status = "refunded"


def _cancel(session: Session, order: Order, reason: str | None, now: datetime) -> Order:
    _require(order, "cart", "placed", "paid", action="cancel")
    was = order.status
    if was in ("placed", "paid"):
        _release_stock(session, order)
    if was == "paid":
        _refund_all(session, order)
    order.status, order.canceled_at, order.cancel_reason = "canceled", now, reason
    session.flush()
    if was != "cart":
        events.emit(session, "canceled", order, now)
    session.commit()
    return order


def cancel_by_buyer(session: Session, buyer_id: int, order_id: int, reason: str | None = None,
                    now: datetime | None = None) -> Order:
    return _cancel(session, _buyer_order(session, buyer_id, order_id), reason, now or utcnow())


def return_order(session: Session, buyer_id: int, order_id: int, reason: str | None = None,
                 now: datetime | None = None) -> Order:
    now = now or utcnow()
    order = _buyer_order(session, buyer_id, order_id)
    _require(order, "delivered", action="return")
    if now > order.return_deadline:
        raise Conflict("the return window has ended", code="return_window_closed",
                       details={"return_deadline": order.return_deadline.isoformat()})
    # Payouts insert under this same row lock: a clock skewed across servers cannot make an
    # order both paid out and refunded.
    if session.scalar(select(Payout.id).where(Payout.order_id == order.id)):
        raise Conflict("this order was already paid out to the seller",
                       code="already_paid_out")
    _release_stock(session, order)  # returned goods go back on the shelf
    _refund_all(session, order)
    order.status, order.returned_at, order.cancel_reason = "returned", now, reason
    session.flush()
    events.emit(session, "returned", order, now)
    session.commit()
    return order


# ---- seller --------------------------------------------------------------------------------

def list_seller_orders(session: Session, user_id: int, status: str | None, limit: int,
                       offset: int) -> list[Order]:
    seller = active_seller(session, user_id)
    stmt = select(Order).where(Order.seller_id == seller.id, Order.status != "cart")
    if status:
        stmt = stmt.where(Order.status == status)
    return list(session.scalars(stmt.order_by(Order.id.desc()).limit(limit).offset(offset)))


def get_seller_order(session: Session, user_id: int, order_id: int) -> Order:
    seller = active_seller(session, user_id)
    order = session.scalar(select(Order).where(Order.id == order_id, Order.seller_id == seller.id,
                                               Order.status != "cart"))
    if order is None:
        raise NotFound(f"order {order_id} not found")
    return order


def fulfill_order(session: Session, user_id: int, order_id: int,
                  now: datetime | None = None) -> Order:
    order = _seller_order(session, active_seller(session, user_id), order_id)
    _require(order, "paid", action="fulfill")
    order.status, order.fulfilled_at = "fulfilled", now or utcnow()
    session.commit()
    return order


def deliver_order(session: Session, user_id: int, order_id: int,
                  now: datetime | None = None) -> Order:
    now = now or utcnow()
    order = _seller_order(session, active_seller(session, user_id), order_id)
    _require(order, "fulfilled", action="mark delivered")
    order.status, order.delivered_at = "delivered", now
    order.return_deadline = now + timedelta(days=goseller_settings().return_window_days)
    session.commit()
    return order


def cancel_by_seller(session: Session, user_id: int, order_id: int, reason: str | None = None,
                     now: datetime | None = None) -> Order:
    if not reason:
        raise Unprocessable("a seller cancellation needs a reason", code="reason_required")
    order = _seller_order(session, active_seller(session, user_id), order_id)
    return _cancel(session, order, reason, now or utcnow())


# ---- payouts -------------------------------------------------------------------------------

def run_payouts(session: Session, now: datetime | None = None, limit: int = 500) -> list[Payout]:
    """Pay out every delivered order whose return window has ended, each exactly once: the
    order row is locked (SKIP LOCKED lets parallel runs share the work) and the payout insert
    is ON CONFLICT DO NOTHING on the unique order_id. A refused ledger posting rolls that
    order's payout back (retried on the next run) without stopping the others."""
    now = now or utcnow()
    has_payout = exists().where(Payout.order_id == Order.id)
    due = list(session.scalars(select(Order.id).where(
        Order.status == "delivered", Order.return_deadline < now, ~has_payout)
        .order_by(Order.id).limit(limit)))
    session.rollback()
    made = []
    for order_id in due:
        order = session.scalar(select(Order).where(Order.id == order_id,
                                                   Order.status == "delivered")
                               .with_for_update(skip_locked=True))
        if order is None:
            session.rollback()
            continue
        gross = order.subtotal_minor - order.refunded_minor
        payout_id = session.scalar(
            pg_insert(Payout).values(order_id=order.id, seller_id=order.seller_id,
                                     currency=order.currency, gross_minor=gross,
                                     fee_minor=order.platform_fee_minor,
                                     net_minor=gross - order.platform_fee_minor,
                                     status="awaiting_ledger")
            .on_conflict_do_nothing(index_elements=["order_id"]).returning(Payout.id))
        if payout_id is None:
            session.rollback()
            continue
        payout = session.get(Payout, payout_id)
        try:
            payout.ledger_ref = money.pay_out_seller(session, payout)
        except AppError as exc:  # e.g. escrow_short: this order waits, the others go on
            session.rollback()
            log.error("payout of order %s refused: %s", order_id, exc.message)
            continue
        payout.status, payout.paid_at = "paid", now
        session.commit()
        made.append(payout)
    return made


def list_seller_payouts(session: Session, user_id: int, limit: int, offset: int) -> list[Payout]:
    seller = seller_of_user(session, user_id)
    return list(session.scalars(select(Payout).where(Payout.seller_id == seller.id)
                                .order_by(Payout.id.desc()).limit(limit).offset(offset)))
