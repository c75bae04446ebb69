"""Scheduled payments work, run by `ehb worker` through the job system's hook registry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.jobs.registry import periodic_hook


@periodic_hook("payments.reconcile_processing", cron="*/5 * * * *", queue="payments")
def reconcile_processing(session: Session, now: datetime) -> dict:
    """Settle payment intents stuck in processing (provider timeouts, lost webhooks)."""
    from api.payments.service import reconcile_processing as reconcile

    return reconcile(session, now=now)
