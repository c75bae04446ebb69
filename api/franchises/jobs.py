"""Franchise settlements: daily, settle the latest month whose return window has closed
(a rerun settles nothing twice, so running daily is safe and catches up after downtime)."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from api.core.errors import Conflict
from api.jobs.registry import periodic_hook


def _previous_month(day: date) -> date:
    return date(day.year - (day.month == 1), (day.month - 2) % 12 + 1, 1)


@periodic_hook("franchises.settle", cron="30 3 * * *", queue="settlements")
def settle(session: Session, now: datetime) -> dict:
    from api.franchises.service import settle_month

    period = _previous_month(now.date())
    try:
        made = settle_month(session, period, now=now)
    except Conflict:  # early in the month: last month's return window is still open
        period = _previous_month(period)
        made = settle_month(session, period, now=now)
    return {"period": f"{period:%Y-%m}", "statements": len(made)}
