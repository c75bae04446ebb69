"""The money seam of franchises: the ONLY module that calls the wallet ledger.

A settlement's revenue share is paid from the ledger's `fees` system account (the platform's
revenue) to the franchisee's wallet, inside the caller's transaction. The fee account may
not go negative: then the ledger refuses and the statement stays 'awaiting_ledger'."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.franchises.models import Franchise, Settlement
from api.wallet import service as ledger
from api.wallet.service import Posting


def post_settlement(session: Session, settlement: Settlement) -> str | None:
    """Credit the franchisee's wallet with share_minor; the ledger reference, or None for a
    zero share (nothing to move)."""
    if settlement.share_minor == 0:
        return None
    owner = session.get(Franchise, settlement.franchise_id).owner_user_id
    wallet = ledger.owned_account(session, owner, settlement.currency)
    fees = ledger.system_account(session, "fees", settlement.currency)
    tx = ledger.post(session, "franchise_settlement",
                     [Posting(fees.id, -settlement.share_minor),
                      Posting(wallet.id, settlement.share_minor)],
                     description=f"franchise settlement {settlement.period_start:%Y-%m}",
                     details={"settlement_id": settlement.id,
                              "franchise_id": settlement.franchise_id})
    return f"wallet_tx:{tx}"
