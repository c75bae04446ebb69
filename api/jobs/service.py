"""Deferring jobs inside the caller's transaction, and reading job status for admins/metrics."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import procrastinate
from procrastinate.tasks import configure_task
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.core.errors import NotFound, Unprocessable
from api.jobs.app import app

STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborted")
# Defers run on a connection we pass in; this connector's own pool is never opened.
_deferrer = procrastinate.manager.JobManager(connector=procrastinate.SyncPsycopgConnector())


def _task(name: str) -> procrastinate.tasks.Task:
    app.perform_import_paths()
    try:
        return app.tasks[name]
    except KeyError:
        raise Unprocessable(f"unknown task {name!r}", code="unknown_task") from None


def defer(session: Session, task_name: str, *, schedule_at: datetime | None = None,
          queueing_lock: str | None = None, priority: int | None = None,
          **task_kwargs: Any) -> int:
    """Insert a job on the session's own connection, inside its open transaction: the job
    exists if and only if the caller commits. Returns the job id."""
    task = _task(task_name)
    connection = session.connection().connection.driver_connection
    return configure_task(
        name=task.name, job_manager=_deferrer, queue=task.queue, lock=task.lock,
        queueing_lock=queueing_lock if queueing_lock is not None else task.queueing_lock,
        priority=priority if priority is not None else task.priority,
        schedule_at=schedule_at, connection=connection,
    ).defer(**task_kwargs)


def counts(session: Session) -> dict[str, dict[str, int]]:
    """{queue: {status: n}} with every status present (zeros included)."""
    rows = session.execute(text(
        "SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2"))
    result: dict[str, dict[str, int]] = {}
    for queue, status, n in rows:
        result.setdefault(queue, dict.fromkeys(STATUSES, 0))[status] = n
    return result


_JOB_COLUMNS = """j.id, j.queue_name AS queue, j.task_name AS task, j.status::text AS status,
    j.attempts, j.priority, j.scheduled_at, j.lock, j.queueing_lock,
    (SELECT min(at) FROM procrastinate_events e WHERE e.job_id = j.id) AS created_at,
    (SELECT max(at) FROM procrastinate_events e WHERE e.job_id = j.id) AS updated_at"""


def list_jobs(session: Session, *, status: str | None = None, queue: str | None = None,
              task: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    if status is not None and status not in STATUSES:
        raise Unprocessable(f"status must be one of {', '.join(STATUSES)}", code="bad_status")
    rows = session.execute(text(
        f"SELECT {_JOB_COLUMNS} FROM procrastinate_jobs j"
        " WHERE (CAST(:status AS text) IS NULL OR j.status::text = :status)"
        " AND (CAST(:queue AS text) IS NULL OR j.queue_name = :queue)"
        " AND (CAST(:task AS text) IS NULL OR j.task_name = :task)"
        " ORDER BY j.id DESC LIMIT :limit"),
        {"status": status, "queue": queue, "task": task, "limit": limit})
    return [dict(r._mapping) for r in rows]


def get_job(session: Session, job_id: int) -> dict[str, Any]:
    row = session.execute(text(f"SELECT {_JOB_COLUMNS} FROM procrastinate_jobs j WHERE j.id = :id"),
                          {"id": job_id}).first()
    if row is None:
        raise NotFound(f"job {job_id} does not exist")
    return dict(row._mapping)


def schedules() -> list[dict[str, Any]]:
    app.perform_import_paths()
    return sorted(({"task": p.task.name, "periodic_id": p.periodic_id, "cron": p.cron,
                    "queue": p.task.queue}
                   for p in app.periodic_registry.periodic_tasks.values()),
                  key=lambda d: d["task"])


def workers_alive(session: Session) -> int:
    """Workers whose heartbeat (every 10 s) is under a minute old."""
    return session.execute(text(
        "SELECT count(*) FROM procrastinate_workers"
        " WHERE last_heartbeat > now() - interval '1 minute'")).scalar_one()
