"""Report subscriptions and the scheduled exports that serve them.

`run_due_exports` is what the Dagster schedules call (pipelines/exports.py); tests call it
directly. Each subscription is its own unit of work: the file is written first, then the
export-run record and the subscriber's email (a link to the authenticated download route: the
notification delivery sends plain-text mail, no attachments) commit together. A failure is
recorded with an alert email to the report's owner, and the rest still run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.dependencies import Principal
from api.auth.models import User
from api.core.errors import AppError, Conflict, NotFound
from api.notifications.service import enqueue
from api.reports import exports
from api.reports.models import ReportDefinition, ReportExportRun, ReportSubscription
from api.reports.schemas import CADENCES, SubscriptionIn
from api.reports.service import bind, get_definition
from api.reports.settings import ExportSettings, get_export_settings

log = logging.getLogger("ehb.reports")

EXPORT_READY = "reports.export_ready"
EXPORT_FAILED = "reports.export_failed"


# --- subscriptions -------------------------------------------------------------------------

def subscribe(session: Session, principal: Principal, definition_id: int,
              body: SubscriptionIn) -> ReportSubscription:
    """Subscribe the caller (who holds reports:run, checked by the route) to a report; the
    parameters are checked now so a bad one is refused here, not at 3 a.m."""
    defn = get_definition(session, definition_id)
    params = bind(defn, body.parameters)
    stored = {k: v.isoformat() if hasattr(v, "isoformat") else v
              for k, v in params.items() if k in body.parameters}
    existing = session.scalars(select(ReportSubscription).where(
        ReportSubscription.definition_id == defn.id,
        ReportSubscription.user_id == principal.user_id,
        ReportSubscription.format == body.format,
        ReportSubscription.cadence == body.cadence)).first()
    if existing is not None:
        if existing.active:
            raise Conflict(f"you already receive this report {body.cadence} as {body.format}",
                           code="already_subscribed")
        existing.active, existing.parameters = True, stored
        session.commit()
        return existing
    sub = ReportSubscription(definition_id=defn.id, user_id=principal.user_id,
                             format=body.format, cadence=body.cadence, parameters=stored,
                             active=True)
    session.add(sub)
    try:
        session.commit()
    except IntegrityError:  # a concurrent subscribe of the same kind
        session.rollback()
        raise Conflict("you already receive this report on this cadence and format",
                       code="already_subscribed") from None
    return sub


def my_subscriptions(session: Session, user_id: int) -> list[ReportSubscription]:
    return list(session.scalars(select(ReportSubscription).where(
        ReportSubscription.user_id == user_id, ReportSubscription.active)
        .order_by(ReportSubscription.id)))


def unsubscribe(session: Session, principal: Principal, subscription_id: int) -> None:
    sub = session.get(ReportSubscription, subscription_id)
    # Someone else's subscription is "not found": ids of others' subscriptions do not leak.
    if sub is None or not sub.active or sub.user_id != principal.user_id:
        raise NotFound(f"subscription {subscription_id} not found", code="subscription_not_found")
    sub.active = False
    session.commit()


def my_export_runs(session: Session, user_id: int, limit: int = 50) -> list[ReportExportRun]:
    return list(session.scalars(select(ReportExportRun).where(
        ReportExportRun.user_id == user_id).order_by(ReportExportRun.id.desc()).limit(limit)))


def export_file_for(session: Session, principal: Principal, run_id: int) -> tuple[Path, str]:
    """The stored file of one of the caller's successful export runs (the emailed link)."""
    run = session.get(ReportExportRun, run_id)
    if run is None or run.status != "succeeded" or (
            run.user_id != principal.user_id and not principal.has_role("admin")):
        raise NotFound(f"export {run_id} not found", code="export_not_found")
    path = Path(run.file_path or "")
    if not path.is_file():
        raise AppError("this export file was removed by the retention policy; download the "
                       "report again from /reports", code="export_expired", status_code=410)
    return path, run.format


# --- scheduled runs ------------------------------------------------------------------------

def period_start(cadence: str, now: datetime) -> datetime:
    """Start (UTC midnight) of the day, ISO week or month containing `now`."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    if cadence == "daily":
        return day
    if cadence == "weekly":
        return day - timedelta(days=day.weekday())
    if cadence == "monthly":
        return day.replace(day=1)
    raise ValueError(f"cadence must be one of {', '.join(CADENCES)}")


def due_subscriptions(session: Session, cadence: str, now: datetime) -> list[ReportSubscription]:
    start = period_start(cadence, now)
    # A disabled subscriber gets nothing (and is no failure to alert anyone about).
    return list(session.scalars(select(ReportSubscription).join(
        User, User.id == ReportSubscription.user_id).where(
        User.is_active, ReportSubscription.cadence == cadence, ReportSubscription.active,
        (ReportSubscription.last_exported_at.is_(None))
        | (ReportSubscription.last_exported_at < start))
        .order_by(ReportSubscription.id)))


@dataclass
class ExportSummary:
    cadence: str
    exported: int = 0
    failed: int = 0
    paths: list[str] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)


def run_due_exports(session: Session, cadence: str, now: datetime | None = None,
                    dest_dir: Path | str | None = None,
                    settings: ExportSettings | None = None) -> ExportSummary:
    """Export every due subscription of `cadence`, then apply retention under dest_dir."""
    settings = settings or get_export_settings()
    now = now or datetime.now(UTC)
    dest = Path(dest_dir).resolve() if dest_dir else settings.export_dir()
    summary = ExportSummary(cadence)
    start = period_start(cadence, now)
    for sub_id in [s.id for s in due_subscriptions(session, cadence, now)]:
        session.rollback()  # each subscription in its own transaction
        sub = session.get(ReportSubscription, sub_id)
        _export_one(session, sub, start, dest, settings, summary)
    summary.removed = [str(p) for p in exports.apply_retention(
        dest, settings.keep_days, settings.keep_latest, now=now.timestamp())]
    log.info("scheduled exports cadence=%s exported=%s failed=%s removed=%s", cadence,
             summary.exported, summary.failed, len(summary.removed))
    return summary


@dataclass(frozen=True)
class _Job:
    """What one export needs, read before the file is written (no transaction held open)."""

    sub_id: int
    definition_id: int
    report: str
    owner_id: int | None
    user_id: int
    email: str
    format: str
    cadence: str
    parameters: dict[str, Any]


def _export_one(session: Session, sub: ReportSubscription, period: datetime, dest: Path,
                settings: ExportSettings, summary: ExportSummary) -> None:
    started = datetime.now(UTC)
    defn = session.get(ReportDefinition, sub.definition_id)
    user = session.get(User, sub.user_id)
    job = _Job(sub.id, defn.id, defn.name, defn.owner_id, user.id, user.email, sub.format,
               sub.cadence, dict(sub.parameters))
    session.rollback()
    path = None
    try:
        path, rows = exports.export_file(job.definition_id, job.format, dest, job.parameters,
                                         user_id=job.user_id)
        run = ReportExportRun(subscription_id=job.sub_id, definition_id=job.definition_id,
                              user_id=job.user_id, cadence=job.cadence, format=job.format,
                              status="succeeded", file_path=str(path), rows=rows,
                              bytes=path.stat().st_size, started_at=started,
                              finished_at=datetime.now(UTC))
        session.add(run)
        session.flush()
        link = (f"{settings.public_base_url.rstrip('/')}/api/v1/reports/export-runs/"
                f"{run.id}/download")
        enqueue(session, channel="email", category=EXPORT_READY, recipient=job.email,
                user_id=job.user_id, subject=f"Your {job.cadence} report: {job.report}",
                body=(f"Your {job.cadence} export of \"{job.report}\" is ready ({rows} rows, "
                      f"{job.format.upper()}).\n\nDownload it (sign in required): {link}\n\n"
                      f"Files are kept {settings.keep_days} days."),
                payload={"export_run_id": run.id, "report_id": job.definition_id,
                         "format": job.format, "rows": rows, "download_url": link})
        session.get(ReportSubscription, job.sub_id).last_exported_at = period
        session.commit()
    except Exception as exc:  # any report's failure must not stop the others
        session.rollback()
        if path is not None:  # written but not recorded: nobody would be told about it
            path.unlink(missing_ok=True)
        _record_failure(session, job, started, exc)
        summary.failed += 1
        summary.failures.append({"subscription_id": job.sub_id,
                                 "report_id": job.definition_id, "error": _reason(exc)})
        return
    summary.exported += 1
    summary.paths.append(str(path))


def _reason(exc: Exception) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _record_failure(session: Session, job: _Job, started: datetime, exc: Exception) -> None:
    reason = _reason(exc)
    log.warning("scheduled export failed subscription_id=%s report_id=%s: %s", job.sub_id,
                job.definition_id, reason)
    session.add(ReportExportRun(subscription_id=job.sub_id, definition_id=job.definition_id,
                                user_id=job.user_id, cadence=job.cadence, format=job.format,
                                status="failed", error=reason, started_at=started,
                                finished_at=datetime.now(UTC)))
    owner = session.get(User, job.owner_id) if job.owner_id else None
    if owner is not None:
        enqueue(session, channel="email", category=EXPORT_FAILED, recipient=owner.email,
                user_id=owner.id, subject=f"Scheduled export failed: {job.report}",
                body=(f"The {job.cadence} {job.format.upper()} export of your report "
                      f"\"{job.report}\" (subscription {job.sub_id}) failed:\n\n{reason}\n\n"
                      "Fix the report definition; the export is retried at the next run."),
                payload={"report_id": job.definition_id, "subscription_id": job.sub_id,
                         "error": reason})
    else:
        log.warning("report %s has no owner to alert", job.definition_id)
    session.commit()
