"""The SLA sweep, scheduled through the job system's hook registry."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.complaints.settings import get_complaints_settings
from api.jobs.registry import periodic_hook


@periodic_hook("complaints.sla_sweep", cron=get_complaints_settings().sla_sweep_cron,
               queue="complaints")
def sla_sweep(session: Session, now: datetime) -> dict:
    from api.complaints.sla import sweep

    return sweep(session, now=now)
