"""/api/v1/jobs (admin): counts per queue and status, recent jobs, one job, schedules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.auth.dependencies import Principal, require
from api.deps import SessionDep
from api.jobs import metrics, service
from api.jobs.permissions import JOBS_READ
from api.validation import Id

router = APIRouter(prefix="/jobs", tags=["jobs"])
metrics.install()
Admin = Annotated[Principal, Depends(require(JOBS_READ))]


class JobOut(BaseModel):
    id: int
    queue: str
    task: str
    status: str
    attempts: int
    priority: int
    scheduled_at: datetime | None
    lock: str | None
    queueing_lock: str | None
    created_at: datetime | None
    updated_at: datetime | None


class Schedule(BaseModel):
    task: str
    periodic_id: str
    cron: str
    queue: str


class JobsOverview(BaseModel):
    counts: dict[str, dict[str, int]]
    totals: dict[str, int]
    workers_alive: int
    schedules: list[Schedule]
    recent: list[JobOut]


@router.get("", response_model=JobsOverview, summary="Job counts, schedules and recent jobs")
def overview(principal: Admin, session: SessionDep,
             status: str | None = None, queue: str | None = None, task: str | None = None,
             limit: int = Query(50, ge=1, le=500)) -> dict:
    counts = service.counts(session)
    totals = dict.fromkeys(service.STATUSES, 0)
    for by_status in counts.values():
        for s, n in by_status.items():
            totals[s] += n
    return {"counts": counts, "totals": totals, "workers_alive": service.workers_alive(session),
            "schedules": service.schedules(),
            "recent": service.list_jobs(session, status=status, queue=queue, task=task,
                                        limit=limit)}


@router.get("/{job_id}", response_model=JobOut, summary="One job")
def job(job_id: Id, principal: Admin, session: SessionDep) -> dict:
    return service.get_job(session, job_id)


def health_check(session: Session) -> dict:
    session.execute(text("SELECT 1 FROM procrastinate_jobs LIMIT 1"))
    return {"queues": len(service.counts(session))}
