"""On-demand refresh: an operator asks for a run (`ehb pipeline refresh [--full]`, or any process
calling `request_refresh`), the `refresh_requests` sensor turns the request into a run.

A request is a small JSON file in `<warehouse dir>/refresh_requests/`, written under a temporary
name and renamed, so the sensor never reads half a file. File names sort by request time; the
sensor's cursor is the newest name it has turned into a run, so each request runs once, and
requests that piled up between two ticks become one run (a full one if any asked for it).
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from pipelines.snapshot import warehouse_dir

KEEP_SECONDS = 86_400  # handled requests are pruned after a day


def requests_dir() -> Path:
    path = warehouse_dir() / "refresh_requests"
    path.mkdir(parents=True, exist_ok=True)
    return path


def request_refresh(*, full: bool = False, requested_by: str | None = None) -> Path:
    now = datetime.now(UTC)
    name = f"{now:%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:8]}.json"
    folder = requests_dir()
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps({"full": full, "requested_by": requested_by,
                               "requested_at": now.isoformat()}))
    os.replace(tmp, folder / name)
    return folder / name


def pending_requests(cursor: str | None) -> list[Path]:
    return sorted(p for p in requests_dir().glob("*.json") if p.name > (cursor or ""))


def _prune(cursor: str) -> None:
    cutoff = time.time() - KEEP_SECONDS
    for path in requests_dir().glob("*.json"):
        if path.name <= cursor and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)


def refresh_sensor(incremental_job, full_job) -> dg.SensorDefinition:
    @dg.sensor(name="refresh_requests", jobs=[incremental_job, full_job],
               minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Runs the pipeline when an operator requests a refresh "
                           "(`ehb pipeline refresh [--full]`).")
    def _sensor(context: dg.SensorEvaluationContext):
        pending = pending_requests(context.cursor)
        if not pending:
            return dg.SkipReason("no refresh requested")
        requests = []
        for path in pending:
            try:
                requests.append(json.loads(path.read_text()))
            except (OSError, ValueError):  # unreadable: still counts as a request
                requests.append({})
        full = any(r.get("full") for r in requests)
        newest = pending[-1].name
        context.update_cursor(newest)
        _prune(newest)
        who = sorted({r.get("requested_by") or "unknown" for r in requests})
        return dg.RunRequest(
            run_key=newest.removesuffix(".json"),
            job_name=(full_job if full else incremental_job).name,
            tags={"ehb/requested_by": ", ".join(who), "ehb/requests": str(len(pending))})

    return _sensor
