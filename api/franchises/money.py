"""The money seam of franchises: the ONLY module that will call the wallet ledger.

Until the wallet ledger (issue 3) is merged, post_settlement moves nothing and returns None;
statements keep their exact amounts in status 'awaiting_ledger'."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from api.franchises.models import Settlement

log = logging.getLogger("ehb.franchises")


def post_settlement(session: Session, settlement: Settlement) -> str | None:
    """Credit the franchisee's wallet with share_minor; the ledger reference, or None."""
    log.info("settlement %s (%s %s) awaits the ledger", settlement.id, settlement.share_minor,
             settlement.currency)
    return None
