"""Scheduled trusty-wallet work: expire stale approvals, run vault moves whose delay passed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.jobs.registry import periodic_hook


@periodic_hook("trusty.run_due", cron="* * * * *", queue="payments")
def run_due(session: Session, now: datetime) -> dict:
    from api.trusty.service import run_due as run

    return run(session, now=now)
