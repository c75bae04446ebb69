"""The money seam of GoSeller: the ONLY module that calls the payments service and the
wallet ledger.

Every order is paid through a payment intent of the payments service with the buyer's
wallet-balance method, payee the seller, captured into the ledger's `payouts` system account
(the marketplace escrow: money owed to sellers or to be refunded) with no payment fee:

    payment  authorization  buyer wallet -total    wallet_clearing +total
             capture        wallet_clearing -total payouts +total
    refund   (the intent's refund, never above what it captured)
                            payouts -amount  wallet_clearing +/-amount  buyer wallet +amount
    payout   payouts -gross  seller wallet +net  fees +fee    (after the return window)

The escrow may never go below zero: each refund or payout takes out only what its own order
put in, and the ledger refuses any posting that would overdraw `payouts`, answered here as 409
`escrow_short`. Orders paid before intents existed (payment_intent_id NULL) are refunded by a direct
posting, as they were paid.

A buyer may name a card or bank payment method: a top-up payment intent first brings their
wallet up to the order total, grossed up for the payment fee; the wallet intent then pays.

Each function posts inside the caller's transaction (not committed), so the ledger entries
and the order/payout row that explain them commit together or not at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.errors import AppError, Conflict
from api.goseller.models import Order, Payout, Seller
from api.payments import service as payments
from api.payments.models import PaymentIntent
from api.payments.service import PaymentDeclined  # noqa: F401 - raised by orders.pay_order
from api.wallet import service as ledger
from api.wallet.service import InsufficientFunds, Posting

HOLDING = "payouts"  # the marketplace escrow


def ref(transaction_id: int) -> str:
    return f"wallet_tx:{transaction_id}"


def _gross_up(net: int) -> int:
    """The smallest intent amount whose capture, after the payment fee, leaves `net`."""
    amount = net
    for _ in range(64):
        short = net - (amount - payments.fee_for(amount))
        if short <= 0:
            return amount
        amount += short
    raise AppError("no top-up amount covers this order after fees", code="top_up_impossible",
                   status_code=422)


def top_up_for_order(session: Session, order: Order,
                     payment_method_id: int) -> PaymentIntent | None:
    """A top-up intent charged to the buyer's card or bank account for what their wallet
    lacks to pay the order (None when it already covers it). Not committed: the caller
    commits the intent and its ledger postings before charging the order, so a captured
    card payment is never rolled back with a later refusal."""
    wallet = ledger.owned_account(session, order.buyer_id, order.currency)
    shortfall = order.subtotal_minor - wallet.balance
    if shortfall <= 0:
        return None
    intent = payments.create_intent(session, user_id=order.buyer_id,
                                    amount=_gross_up(shortfall), currency=order.currency,
                                    payment_method_id=payment_method_id,
                                    description=f"top-up for GoSeller order {order.id}")
    return payments.confirm(session, intent)


@contextmanager
def _from_escrow(currency: str) -> Iterator[None]:
    """Postings that take money out of the escrow: the ledger's overdraft refusal there means
    this order's money is not in it (the caller rolls back)."""
    try:
        yield
    except InsufficientFunds:
        raise Conflict("the marketplace escrow does not hold this money", code="escrow_short",
                       details={"currency": currency}) from None


def charge_order(session: Session, order: Order) -> PaymentIntent:
    """Pay the order total from the buyer's wallet through a succeeded wallet-balance intent
    into escrow (not committed). Refuses with 422 no_wallet / insufficient_funds; the caller
    rolls back, so neither the intent nor any posting remains."""
    seller_user = session.get(Seller, order.seller_id).user_id
    ledger.wallet_of(session, order.buyer_id, order.currency)  # a clear no_wallet first
    method = payments.wallet_method(session, order.buyer_id)
    intent = payments.create_intent(
        session, user_id=order.buyer_id, payee_user_id=seller_user, payee_account=HOLDING,
        amount=order.subtotal_minor, currency=order.currency, payment_method_id=method.id,
        description=f"GoSeller order {order.id}")
    try:
        payments.confirm(session, intent)
    except InsufficientFunds:
        raise InsufficientFunds(
            f"your {order.currency} wallet does not cover the order total", details={
                "order_id": order.id, "total_minor": order.subtotal_minor,
                "currency": order.currency}) from None
    if intent.status != "succeeded":  # a wallet intent captures at once or raises
        raise AssertionError(f"wallet intent {intent.id} left {intent.status}")
    return intent


def refund_order(session: Session, order: Order, amount_minor: int) -> str:
    """Refund through the order's payment intent (never more than it captured)."""
    if order.payment_intent_id is None:  # paid before intents: undo the direct posting
        buyer = ledger.owned_account(session, order.buyer_id, order.currency)
        holding = ledger.system_account(session, HOLDING, order.currency)
        with _from_escrow(order.currency):
            tx = ledger.post(session, "goseller_refund",
                             [Posting(holding.id, -amount_minor), Posting(buyer.id, amount_minor)],
                             description=f"GoSeller refund of order {order.id}",
                             details={"order_id": order.id})
    else:
        intent = session.scalar(select(PaymentIntent).where(
            PaymentIntent.id == order.payment_intent_id).with_for_update())
        with _from_escrow(order.currency):
            tx = payments.refund(session, intent, amount_minor, f"GoSeller order {order.id}",
                                 escrow_owner=True).ledger_transaction_id
    return ref(tx)


def pay_out_seller(session: Session, payout: Payout) -> str:
    seller_user = session.get(Seller, payout.seller_id).user_id
    wallet = ledger.owned_account(session, seller_user, payout.currency)
    holding = ledger.system_account(session, HOLDING, payout.currency)
    fees = ledger.system_account(session, "fees", payout.currency)
    postings = [Posting(holding.id, -payout.gross_minor), Posting(wallet.id, payout.net_minor),
                Posting(fees.id, payout.fee_minor)]
    with _from_escrow(payout.currency):
        tx = ledger.post(session, "goseller_payout", [p for p in postings if p.amount],
                         description=f"GoSeller payout for order {payout.order_id}",
                         details={"order_id": payout.order_id, "payout_id": payout.id})
    return ref(tx)
