"""Tasks owned by the job system itself, plus discovery of every domain's hooks. This module
is the App's import path: importing it makes every task known to a worker."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.jobs.registry import discover, periodic_hook


@periodic_hook("jobs.cleanup", cron="17 * * * *", queue="default")
def cleanup_finished_jobs(session: Session, now: datetime) -> dict:
    """Delete succeeded jobs past the retention window; failed jobs stay for inspection."""
    from api.jobs.settings import get_jobs_settings

    cutoff = now - timedelta(hours=get_jobs_settings().keep_succeeded_hours)
    deleted = session.execute(text(
        "DELETE FROM procrastinate_jobs j WHERE j.status = 'succeeded' AND NOT EXISTS ("
        " SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id AND e.at > :cutoff)"
    ), {"cutoff": cutoff}).rowcount
    return {"deleted": deleted}


DISCOVERED = discover()
