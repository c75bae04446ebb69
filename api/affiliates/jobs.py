"""Affiliate commissions: approve after the return window, then pay approved ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.jobs.registry import periodic_hook


@periodic_hook("affiliates.commissions", cron="*/15 * * * *", queue="payouts")
def commissions(session: Session, now: datetime) -> dict:
    from api.affiliates.service import approve_due, pay_approved

    return {"approved": approve_due(session, now=now), **pay_approved(session, now=now)}
