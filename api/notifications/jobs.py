"""Notification delivery jobs (registered with the job system through its hook registry)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.jobs.registry import hook, periodic_hook


@hook("notifications.deliver", queue="notifications")
def deliver_one(session: Session, message_id: int) -> str:
    from api.notifications.delivery import deliver

    return deliver(session, message_id)


@periodic_hook("notifications.deliver_due", cron="* * * * *", queue="notifications")
def deliver_due(session: Session, now: datetime) -> dict:
    from api.notifications.delivery import deliver_due as sweep

    return sweep(session)
