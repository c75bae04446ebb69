"""The money seam of GoSeller: the ONLY module that calls the wallet ledger.

Buyers pay from their wallet balance (top-ups go through payment intents of the payments
service). The payment waits in the ledger's `payouts` system account, the money the
marketplace owes sellers, until either a refund returns it to the buyer or, after the
return window, the payout splits it into the seller's net and the platform fee:

    payment  buyer wallet  -total   payouts +total
    refund   payouts       -amount  buyer wallet +amount
    payout   payouts       -gross   seller wallet +net   fees +fee

A buyer may name a card or bank payment method instead: a top-up payment intent (payments
service) first brings their wallet up to the order total, grossed up for the payment fee.

Each function posts inside the caller's transaction (not committed), so the ledger entries
and the order/payout row that explain them commit together or not at all.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.core.errors import AppError
from api.goseller.models import Order, Payout, Seller
from api.payments import service as payments
from api.payments.models import PaymentIntent
from api.payments.service import PaymentDeclined  # noqa: F401 - raised by orders.pay_order
from api.wallet import service as ledger
from api.wallet.service import Posting

HOLDING = "payouts"


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


def charge_order(session: Session, order: Order) -> str:
    """Move the order total from the buyer's wallet to the holding account; refuses with
    422 no_wallet / insufficient_funds and posts nothing then."""
    buyer = ledger.wallet_of(session, order.buyer_id, order.currency)
    holding = ledger.system_account(session, HOLDING, order.currency)
    tx = ledger.post(session, "goseller_payment",
                     [Posting(buyer.id, -order.subtotal_minor),
                      Posting(holding.id, order.subtotal_minor)],
                     description=f"GoSeller order {order.id}", initiated_by=order.buyer_id,
                     details={"order_id": order.id})
    return ref(tx)


def refund_order(session: Session, order: Order, amount_minor: int) -> str:
    buyer = ledger.owned_account(session, order.buyer_id, order.currency)
    holding = ledger.system_account(session, HOLDING, order.currency)
    tx = ledger.post(session, "goseller_refund",
                     [Posting(holding.id, -amount_minor), Posting(buyer.id, amount_minor)],
                     description=f"GoSeller refund of order {order.id}",
                     details={"order_id": order.id})
    return ref(tx)


def pay_out_seller(session: Session, payout: Payout) -> str:
    seller_user = session.get(Seller, payout.seller_id).user_id
    wallet = ledger.owned_account(session, seller_user, payout.currency)
    holding = ledger.system_account(session, HOLDING, payout.currency)
    fees = ledger.system_account(session, "fees", payout.currency)
    postings = [Posting(holding.id, -payout.gross_minor), Posting(wallet.id, payout.net_minor),
                Posting(fees.id, payout.fee_minor)]
    tx = ledger.post(session, "goseller_payout", [p for p in postings if p.amount],
                     description=f"GoSeller payout for order {payout.order_id}",
                     details={"order_id": payout.order_id, "payout_id": payout.id})
    return ref(tx)
