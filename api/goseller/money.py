"""The money seam of GoSeller: the ONLY module that will call the wallet/payments services.

Until the wallet ledger (issue 3) is merged, nothing here moves money:
- charge_order refuses with 503 payments_unavailable (no order is marked paid without a real
  payment; the payments side calls service.mark_paid once an intent succeeds);
- refund_order and pay_out_seller leave their rows in status 'awaiting_ledger' with the exact
  amounts, so the transfer can be posted later, exactly once.
"""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from api.core.errors import AppError
from api.goseller.models import Order, Payout

log = logging.getLogger("ehb.goseller")


class PaymentsUnavailable(AppError):
    status_code, code = 503, "payments_unavailable"


def charge_order(session: Session, order: Order) -> str:
    """Charge the buyer for the order total; returns the payment reference."""
    raise PaymentsUnavailable("payments are not connected yet; the order stays placed")


def refund_order(session: Session, order: Order, amount_minor: int) -> str | None:
    """Refund the buyer; returns the ledger reference, or None while no ledger is wired."""
    log.info("refund of %s %s for order %s awaits the ledger", amount_minor, order.currency,
             order.id)
    return None


def pay_out_seller(session: Session, payout: Payout) -> str | None:
    """Credit the seller's wallet with payout.net_minor; returns the ledger reference, or None
    while no ledger is wired (the payout row stays 'awaiting_ledger')."""
    log.info("payout %s (%s %s) awaits the ledger", payout.id, payout.net_minor, payout.currency)
    return None
