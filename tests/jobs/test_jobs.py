"""The job system on the real PostgreSQL: transactional defer, a worker running jobs (and a
retry), hooks from other domains, per-queue limits, admin status and /metrics."""

from __future__ import annotations

import asyncio
import threading
import uuid

import pytest
from sqlalchemy import text

from api.jobs import registry, service
from api.jobs.app import default_retry
from api.jobs.worker import run_workers

RAN: list[dict] = []
FAILED_ONCE: set[str] = set()


@registry.hook("tests.record", queue="tests", retry=False)
def _record(session, token: str) -> None:
    # Runs in its own transaction on a worker thread: prove it can write through a session.
    session.execute(text("SELECT 1"))
    RAN.append({"token": token, "thread": threading.current_thread().name})


@registry.hook("tests.flaky", queue="tests",
               retry=__import__("procrastinate").RetryStrategy(max_attempts=3, wait=0))
def _flaky(session, token: str) -> None:
    if token not in FAILED_ONCE:
        FAILED_ONCE.add(token)
        raise RuntimeError("first attempt fails")
    RAN.append({"token": token})


def _job_row(db, job_id):
    return db.execute(text("SELECT status::text, attempts FROM procrastinate_jobs WHERE id = :i"),
                      {"i": job_id}).first()


def _work(database_url, queues):
    asyncio.run(run_workers(database_url, queues=queues, wait=False,
                            install_signal_handlers=False))


def test_job_deferred_in_rolled_back_transaction_does_not_exist(db):
    token = uuid.uuid4().hex
    job_id = service.defer(db, "hooks.tests.record", token=token)
    assert job_id > 0
    # Visible inside the transaction that deferred it...
    assert _job_row(db, job_id) is not None
    db.rollback()
    # ...and gone with it.
    assert _job_row(db, job_id) is None


def test_job_deferred_with_the_business_change_commits_with_it(db, make_user):
    user, _ = make_user()
    token = uuid.uuid4().hex
    db.execute(text("UPDATE users SET display_name = :n WHERE id = :i"),
               {"n": "changed", "i": user.id})
    job_id = service.defer(db, "hooks.tests.record", token=token)
    db.commit()
    row = _job_row(db, job_id)
    assert row.status == "todo"
    assert service.get_job(db, job_id)["queue"] == "tests"


def test_unknown_task_is_refused(db):
    from api.core.errors import Unprocessable

    with pytest.raises(Unprocessable):
        service.defer(db, "hooks.nope", x=1)
    db.rollback()


def test_worker_runs_jobs_and_retries_a_failure(db, database_url):
    ok, flaky = uuid.uuid4().hex, uuid.uuid4().hex
    ok_id = service.defer(db, "hooks.tests.record", token=ok)
    flaky_id = service.defer(db, "hooks.tests.flaky", token=flaky)
    db.commit()
    _work(database_url, ["tests"])
    db.rollback()
    assert any(r["token"] == ok for r in RAN)
    assert _job_row(db, ok_id).status == "succeeded"
    # The flaky job failed once, was retried (wait=0) by the same run, and succeeded.
    row = _job_row(db, flaky_id)
    assert (row.status, row.attempts) == ("succeeded", 2)
    assert [r for r in RAN if r["token"] == flaky]


def test_failing_job_ends_failed_after_its_attempts(db, database_url):
    token = uuid.uuid4().hex

    @registry.hook(f"tests.always_fails_{token[:8]}", queue="tests",
                   retry=__import__("procrastinate").RetryStrategy(max_attempts=2, wait=0))
    def _always(session, n: int) -> None:
        raise ValueError("boom")

    job_id = service.defer(db, f"hooks.tests.always_fails_{token[:8]}", n=1)
    db.commit()
    _work(database_url, ["tests"])
    db.rollback()
    row = _job_row(db, job_id)
    assert (row.status, row.attempts) == ("failed", 3)  # first run + 2 retries
    failed = service.list_jobs(db, status="failed", queue="tests")
    assert job_id in [j["id"] for j in failed]


def test_default_retry_backs_off_exponentially():
    strategy = default_retry()
    waits = [strategy.get_retry_decision(exception=RuntimeError(), job=type("J", (), {
        "attempts": n})()).retry_at for n in range(3)]
    # exponential_wait ** (attempts + 1): 4 s, 16 s, 64 s from now.
    deltas = [(w - waits[0]).total_seconds() for w in waits]
    assert 11 <= deltas[1] <= 13 and 59 <= deltas[2] <= 61
    assert strategy.get_retry_decision(exception=RuntimeError(),
                                       job=type("J", (), {"attempts": 5})()) is None


def test_queue_concurrency_limits_from_settings(monkeypatch):
    from api.jobs.settings import JobsSettings

    monkeypatch.setenv("JOBS_QUEUE_CONCURRENCY", '{"notifications": 8, "default": 0}')
    limits = JobsSettings().concurrency()
    assert limits["notifications"] == 8 and limits["payouts"] == 1
    assert "default" not in limits  # 0 disables a queue on this worker


def test_periodic_hooks_are_registered_with_cron():
    names = {s["task"]: s for s in service.schedules()}
    assert names["hooks.jobs.cleanup"]["cron"] == "17 * * * *"
    assert "hooks.complaints.sla_sweep" in names
    assert "hooks.notifications.deliver_due" in names


def test_jobs_overview_admin_only(client, make_user, auth_headers, db):
    service.defer(db, "hooks.tests.record", token=uuid.uuid4().hex)
    db.commit()
    admin, _ = make_user(roles=["admin"])
    support, _ = make_user(roles=["support"])
    assert client.get("/api/v1/jobs").status_code == 401
    assert client.get("/api/v1/jobs", headers=auth_headers(support)).status_code == 403
    r = client.get("/api/v1/jobs?queue=tests", headers=auth_headers(admin))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["counts"]["tests"]["todo"] >= 1
    assert body["totals"]["todo"] >= 1
    assert all(j["queue"] == "tests" for j in body["recent"])
    job_id = body["recent"][0]["id"]
    assert client.get(f"/api/v1/jobs/{job_id}", headers=auth_headers(admin)).json()["id"] == job_id
    assert client.get("/api/v1/jobs/999999999", headers=auth_headers(admin)).status_code == 404
    r = client.get("/api/v1/jobs?status=bogus", headers=auth_headers(admin))
    assert r.status_code == 422


def test_metrics_expose_job_counts(client, db):
    service.defer(db, "hooks.tests.record", token=uuid.uuid4().hex)
    db.commit()
    text_ = client.get("/metrics").text
    assert 'ehb_jobs{queue="tests",status="todo"}' in text_
    assert "ehb_job_workers" in text_


_RUNNING = {"now": 0, "max": 0}
_RUNNING_LOCK = threading.Lock()


@registry.hook("tests.slow", queue="tests_slow", retry=False)
def _slow(session, n: int) -> None:
    import time

    with _RUNNING_LOCK:
        _RUNNING["now"] += 1
        _RUNNING["max"] = max(_RUNNING["max"], _RUNNING["now"])
    time.sleep(0.3)
    with _RUNNING_LOCK:
        _RUNNING["now"] -= 1


@pytest.mark.parametrize("limit", [1, 3])
def test_worker_respects_the_queue_concurrency_limit(db, database_url, monkeypatch, limit):
    from api.jobs.settings import get_jobs_settings

    monkeypatch.setenv("JOBS_QUEUE_CONCURRENCY", f'{{"tests_slow": {limit}}}')
    get_jobs_settings.cache_clear()
    _RUNNING["max"] = 0
    ids = [service.defer(db, "hooks.tests.slow", n=i) for i in range(6)]
    db.commit()
    try:
        _work(database_url, ["tests_slow"])
    finally:
        get_jobs_settings.cache_clear()
    db.rollback()
    assert {_job_row(db, i).status for i in ids} == {"succeeded"}
    assert _RUNNING["max"] == limit


def test_ehb_worker_command_runs_jobs(db, database_url):
    from typer.testing import CliRunner

    from api.cli import root

    token = uuid.uuid4().hex
    job_id = service.defer(db, "hooks.tests.record", token=token)
    db.commit()
    result = CliRunner().invoke(root, ["worker", "--once", "--queue", "tests"])
    assert result.exit_code == 0, result.output
    db.rollback()
    assert _job_row(db, job_id).status == "succeeded"
    assert any(r["token"] == token for r in RAN)


def test_health_reports_the_job_queue_and_complaints(client):
    checks = client.get("/health").json()["checks"]
    assert checks["jobs"]["status"] == "ok"
    assert checks["complaints"]["status"] == "ok" and checks["complaints"]["tables"] == 4
    assert checks["notifications"]["tables"] == 4


def test_cleanup_deletes_old_succeeded_jobs_and_keeps_failed(db):
    from datetime import UTC, datetime, timedelta

    from api.jobs.tasks import cleanup_finished_jobs

    done = service.defer(db, "hooks.tests.record", token="old-done")
    failed = service.defer(db, "hooks.tests.record", token="old-failed")
    db.execute(text("UPDATE procrastinate_jobs SET status = 'succeeded' WHERE id = :i"), {"i": done})
    db.execute(text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :i"), {"i": failed})
    db.commit()
    # Within the retention window nothing of ours goes.
    cleanup_finished_jobs(db, now=datetime.now(UTC))
    db.commit()
    assert _job_row(db, done) is not None
    result = cleanup_finished_jobs(db, now=datetime.now(UTC) + timedelta(hours=73))
    db.commit()
    assert result["deleted"] >= 1
    assert _job_row(db, done) is None
    assert _job_row(db, failed).status == "failed"


def test_worker_service_for_ehb_up():
    import sys

    from api.jobs.launcher import worker_service

    svc = worker_service()
    assert svc.argv == [sys.executable, "-m", "api.jobs"]
    assert "notificationsx4" in svc.url and svc.health_url is None


PERIODIC_RAN: list[str] = []


@registry.periodic_hook("tests.periodic_probe", cron="0 0 1 1 *", queue="tests")
def _periodic_probe(session, now) -> dict:
    session.execute(text("SELECT 1"))
    PERIODIC_RAN.append(now.isoformat())
    return {"ran": True}


def test_periodic_hooks_skip_their_tick_while_a_simulation_writes(db):
    """`make run` simulates while the worker runs: a real-time hook acting on the simulated
    past changed what the simulation did next (same seed, different demo data)."""
    import time

    from api.jobs.app import app
    from api.jobs.pause import periodic_hooks_paused

    run = app.tasks["hooks.tests.periodic_probe"].func
    PERIODIC_RAN.clear()
    with periodic_hooks_paused():
        assert run(timestamp=int(time.time())) == {"skipped": "simulation running"}
        assert PERIODIC_RAN == []
    assert run(timestamp=int(time.time())) == {"ran": True}
    assert len(PERIODIC_RAN) == 1
    # the pause is released: another simulation can take it at once
    with periodic_hooks_paused():
        pass


def test_worker_process_knows_every_domains_tables():
    """The worker process imports only the job modules: without every domain's models, a job
    flushing notification_outbox (user_id -> users) failed with NoReferencedTableError."""
    import subprocess
    import sys

    code = ("from api.jobs import tasks\n"
            "from api.db import Base\n"
            "names = [t.name for t in Base.metadata.sorted_tables]\n"  # resolves every FK
            "assert 'users' in names and 'notification_outbox' in names, names\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
