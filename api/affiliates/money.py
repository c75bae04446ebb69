"""The money seam of affiliates: the ONLY module that calls the wallet ledger.

A commission is a platform expense: it moves from the ledger's `fees` system account (which
collects platform fees) to the affiliate's wallet, inside the caller's transaction. The fee
account may not go negative: then the ledger refuses and the commission stays approved."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.affiliates.models import Affiliate, Commission
from api.wallet import service as ledger
from api.wallet.service import Posting


def pay_commission(session: Session, commission: Commission) -> str | None:
    """Credit the affiliate's wallet; the ledger reference, or None for a zero commission
    (nothing to move, recorded as paid without a transaction)."""
    if commission.commission_minor == 0:
        return None
    user_id = session.get(Affiliate, commission.affiliate_id).user_id
    wallet = ledger.owned_account(session, user_id, commission.currency)
    fees = ledger.system_account(session, "fees", commission.currency)
    tx = ledger.post(session, "affiliate_commission",
                     [Posting(fees.id, -commission.commission_minor),
                      Posting(wallet.id, commission.commission_minor)],
                     description=f"affiliate commission on order {commission.order_id}",
                     details={"commission_id": commission.id, "order_id": commission.order_id})
    return f"wallet_tx:{tx}"
