"""Order messages through the transactional outbox: written in the order's transaction, so a
message exists exactly when the change it announces has committed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.auth.models import User
from api.goseller.models import Order, Seller
from api.notifications.service import enqueue

PLACED = "goseller.order_placed"
RECEIPT = "goseller.order_receipt"
NEW_ORDER = "goseller.new_order"
REFUND = "goseller.order_refund"


def _amount(order: Order, minor: int) -> str:
    return f"{minor} {order.currency} (minor units)"


def on_order_event(session: Session, event: str, order: Order, now: datetime) -> None:
    buyer = session.get(User, order.buyer_id)
    payload = {"order_id": order.id, "status": order.status}
    if event == "placed":
        enqueue(session, channel="email", category=PLACED, recipient=buyer.email,
                user_id=buyer.id, subject=f"Order {order.id} placed", payload=payload,
                body=f"Your order {order.id} of {_amount(order, order.subtotal_minor)} is "
                     "placed; the items are reserved for you.")
    elif event == "paid":
        enqueue(session, channel="email", category=RECEIPT, recipient=buyer.email,
                user_id=buyer.id, subject=f"Receipt for order {order.id}", payload=payload,
                body=f"We received {_amount(order, order.subtotal_minor)} for order {order.id}.")
        seller_user = session.get(Seller, order.seller_id).user_id
        enqueue(session, channel="push", category=NEW_ORDER, recipient=str(seller_user),
                user_id=seller_user, subject=f"New order {order.id}", payload=payload,
                body=f"Order {order.id} is paid and ready to ship.")
    elif event in ("canceled", "returned") and order.refunded_minor:
        enqueue(session, channel="email", category=REFUND, recipient=buyer.email,
                user_id=buyer.id, subject=f"Refund for order {order.id}", payload=payload,
                body=f"Order {order.id} was {event}; a refund of "
                     f"{_amount(order, order.refunded_minor)} is "
                     + ("credited to your wallet." if order.refund_status == "refunded"
                        else "being processed."))
