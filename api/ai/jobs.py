"""Periodic work of the AI marketplace (run by the job worker): provider health checks every
minute (ejected endpoints come back when they pass), and the release of reservations left by
a gateway that died mid-call."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from api.jobs.registry import periodic_hook


@periodic_hook("ai.health_checks", cron="* * * * *")
def health_checks(session: Session, now: datetime) -> dict:
    from api.ai.health import check_endpoints

    results = check_endpoints(session, now=now)
    return {"checked": len(results), "failing": sum(not r["ok"] for r in results)}


@periodic_hook("ai.release_stale", cron="*/5 * * * *")
def release_stale(session: Session, now: datetime) -> dict:
    from api.ai.gateway import release_stale_reservations

    return {"released": release_stale_reservations(now)}
