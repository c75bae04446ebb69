"""Payment receipts and refund notices, written to the notification outbox in the same
transaction as the ledger posting they describe."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.auth.models import User
from api.notifications.service import enqueue
from api.payments.models import PaymentIntent
from api.wallet.currencies import MINOR_UNITS


def format_money(amount: int, currency: str) -> str:
    """Integer minor units to text without floats: 123456 EUR -> '1234.56 EUR'."""
    digits = MINOR_UNITS.get(currency, 2)
    sign = "-" if amount < 0 else ""
    whole, frac = divmod(abs(amount), 10**digits)
    return f"{sign}{whole}.{frac:0{digits}d} {currency}" if digits else f"{sign}{whole} {currency}"


def _send(session: Session, intent: PaymentIntent, category: str, subject: str, body: str,
          amount: int) -> None:
    payer = session.get(User, intent.user_id)
    if payer is None:
        return
    enqueue(session, channel="email", category=category, recipient=payer.email, user_id=payer.id,
            subject=subject, body=body,
            payload={"intent_id": intent.id, "amount": amount, "currency": intent.currency})


def send_receipt(session: Session, intent: PaymentIntent) -> None:
    paid = format_money(intent.amount_captured, intent.currency)
    _send(session, intent, "payments.receipt", f"Receipt: {paid}",
          f"We received your payment of {paid} (payment {intent.id}). "
          f"{intent.description}".strip(), intent.amount_captured)


def send_refund_notice(session: Session, intent: PaymentIntent, amount: int) -> None:
    refunded = format_money(amount, intent.currency)
    _send(session, intent, "payments.refund", f"Refund: {refunded}",
          f"{refunded} of payment {intent.id} was refunded to you.", amount)
