"""The money seam of affiliates: the ONLY module that will call the wallet ledger.

Until the wallet ledger (issue 3) is merged, pay_commission moves nothing and returns None;
approved commissions keep their exact amounts and stay 'approved' until a real transfer."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from api.affiliates.models import Commission

log = logging.getLogger("ehb.affiliates")


def pay_commission(session: Session, commission: Commission) -> str | None:
    """Credit the affiliate's wallet with commission_minor; the ledger reference, or None."""
    log.info("commission %s (%s %s) awaits the ledger", commission.id,
             commission.commission_minor, commission.currency)
    return None
