"""Scheduled trusty-wallet work: expire stale approvals, run vault moves whose delay passed,
prune fraud velocity counters past every window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.jobs.registry import periodic_hook


@periodic_hook("trusty.run_due", cron="* * * * *", queue="payments")
def run_due(session: Session, now: datetime) -> dict:
    from api.trusty.service import run_due as run

    return run(session, now=now)


@periodic_hook("trusty.prune_fraud_velocity", cron="17 * * * *", queue="payments")
def prune_fraud_velocity(session: Session, now: datetime) -> dict:
    from api.trusty.fraud import prune_velocity

    return {"deleted": prune_velocity(session, now)}
