"""Pipeline health for the data quality page: the latest result of every Dagster asset check
and the last runs, read from the Dagster instance storage (data/dagster: SQLite by default,
PostgreSQL when DAGSTER_PG_URL is configured in its dagster.yaml) through the instance API.

The storage is readable whether or not Dagster (UI, daemon) is running. Reads are bounded (a
few runs, a capped number of checks) and done on one worker thread; a result is fresh for
CACHE_SECONDS, then served as it is while a background read replaces it. Only the first read
of an instance is waited for (at most TIMEOUT_SECONDS), and the app starts that read, with
the Dagster import, when it registers the page (`warm_up`).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from pathlib import Path

log = logging.getLogger("ehb.dashboards")

CACHE_SECONDS = 30.0
TIMEOUT_SECONDS = 5.0
RUN_LIMIT = 10
CHECK_LIMIT = 2000


@dataclass(frozen=True)
class CheckResult:
    asset: str
    check: str
    status: str  # passed, failed, running, not run (its run ended first), skipped
    severity: str  # ERROR, WARN ('' while running)
    at: float | None  # epoch seconds
    summary: str  # metadata, shortened


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    job: str
    status: str
    started: float | None
    seconds: float | None


@dataclass
class PipelineStatus:
    home: str
    checks: list[CheckResult] = field(default_factory=list)
    runs: list[RunInfo] = field(default_factory=list)
    error: str | None = None
    read_at: float = 0.0


def dagster_home() -> Path:
    """DAGSTER_HOME, else data/dagster as pipelines.run sets it up (never created here)."""
    if os.environ.get("DAGSTER_HOME"):
        return Path(os.environ["DAGSTER_HOME"])
    from api.settings import get_settings

    return Path(get_settings().data_dir) / "dagster"


def _summary(metadata: dict, limit: int = 160) -> str:
    parts = []
    for key, value in metadata.items():
        raw = getattr(value, "value", value)
        if isinstance(raw, (dict, list)):
            continue  # JSON blobs (first differences...) belong in the Dagster UI
        parts.append(f"{key}={raw}")
    text = ", ".join(parts)
    return text if len(text) <= limit else text[:limit - 1] + "…"


def read_status(home: Path, run_limit: int = RUN_LIMIT,
                check_limit: int = CHECK_LIMIT) -> PipelineStatus:
    """One bounded read of the instance storage (call through `status()` from pages)."""
    out = PipelineStatus(str(home), read_at=time.time())
    if not (home / "dagster.yaml").exists():
        out.error = f"no Dagster instance at {home} yet (run the pipeline once)"
        return out
    import dagster as dg
    import sqlalchemy as sa
    from dagster._core.storage.event_log.schema import AssetCheckExecutionsTable as T

    instance = dg.DagsterInstance.from_config(str(home))
    try:
        for rec in instance.get_run_records(limit=run_limit):
            start, end = rec.start_time, rec.end_time
            out.runs.append(RunInfo(rec.dagster_run.run_id, rec.dagster_run.job_name,
                                    rec.dagster_run.status.value, start,
                                    (end - start) if start and end else None))
        storage = instance.event_log_storage
        with storage.index_connection() as conn:
            rows = conn.execute(sa.select(T.c.asset_key, T.c.check_name).distinct()
                                .limit(check_limit)).fetchall()
        keys = [dg.AssetCheckKey(dg.AssetKey.from_db_string(a), name) for a, name in rows]
        latest = storage.get_latest_asset_check_execution_by_key(keys) if keys else {}
        # a check still planned is running only while its run is: otherwise it never ran
        planned_runs = sorted({rec.run_id for rec in latest.values()
                               if rec.status.value == "PLANNED"})
        live = {r.dagster_run.run_id for r in instance.get_run_records(
            filters=dg.RunsFilter(run_ids=planned_runs))
            if not r.dagster_run.is_finished} if planned_runs else set()
        for key, rec in latest.items():
            evaluation = (rec.event.dagster_event.event_specific_data
                          if rec.event is not None and rec.event.dagster_event else None)
            if not hasattr(evaluation, "passed"):  # planned, never evaluated (run stopped)
                evaluation = None
            state = rec.status.value.lower()
            if evaluation is not None:
                state = "passed" if evaluation.passed else "failed"
            elif state == "planned":
                state = "running" if rec.run_id in live else "not run"
            out.checks.append(CheckResult(
                key.asset_key.to_user_string(), key.name, state,
                evaluation.severity.value if evaluation is not None else "",
                rec.event.timestamp if rec.event is not None else rec.create_timestamp,
                _summary(dict(evaluation.metadata)) if evaluation is not None else ""))
    finally:
        instance.dispose()
    out.checks.sort(key=lambda c: (c.status != "failed", c.asset, c.check))
    return out


_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dagster-status")
# Re-entrant: a future that is already done runs its done-callback (which takes the lock) at
# once in the thread adding it, which holds the lock there.
_lock = threading.RLock()
_cache: dict[str, PipelineStatus] = {}
_pending: dict[str, Future] = {}


def _safe_read(home: Path) -> PipelineStatus:
    try:
        return read_status(home)
    except Exception as exc:  # a storage we cannot read is shown, not raised into the page
        log.warning("cannot read the Dagster instance at %s: %s", home, exc)
        return PipelineStatus(str(home), error=f"cannot read the Dagster instance: {exc}"[:300],
                              read_at=time.time())


def _refresh(key: str, home: Path) -> Future:
    """The read of `home` in flight, or a new one (call with _lock held)."""
    future = _pending.get(key)
    if future is None:
        future = _pending[key] = _pool.submit(_safe_read, home)

        def _store(done: Future, key=key):
            with _lock:
                _cache[key] = done.result()
                _pending.pop(key, None)

        future.add_done_callback(_store)
    return future


def status(home: Path | None = None, timeout: float = TIMEOUT_SECONDS) -> PipelineStatus:
    """The cached status: fresh within CACHE_SECONDS; older, it is returned at once while a
    new read runs in the background (the next refresh shows it). Only the very first read of
    an instance is waited for, at most `timeout` seconds."""
    home = Path(home or dagster_home())
    key = str(home)
    with _lock:
        cached = _cache.get(key)
        if cached is not None and time.time() - cached.read_at < CACHE_SECONDS:
            return cached
        future = _refresh(key, home)
        if cached is not None:
            return cached
    try:
        return future.result(timeout=timeout)
    except FutureTimeout:
        return PipelineStatus(key, error="reading the Dagster instance is taking long; "
                                         "the next refresh shows it")


def warm_up(home: Path | None = None) -> None:
    """At app start: import Dagster and read the instance on the worker thread, so the first
    page view finds the status cached."""
    home = Path(home or dagster_home())
    with _lock:
        _refresh(str(home), home)


def clear_cache() -> None:
    with _lock:
        _cache.clear()
