"""On-demand refresh: an operator asks for a run (`ehb pipeline refresh [--full]`, or any process
calling `request_refresh`), the `refresh_requests` sensor (under a Dagster daemon) or the
`ehb pipeline serve` loop (under `make run`, which starts no daemon) turns it into a run.

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
from dataclasses import dataclass
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


@dataclass(frozen=True)
class Requests:
    """The refresh requests after a cursor, as one run: a full one if any asked for it."""
    full: bool
    newest: str          # the next cursor
    requested_by: list[str]
    count: int


def take_requests(cursor: str | None) -> Requests | None:
    """The requests newer than `cursor` (None if there are none); handled ones older than a day
    are pruned."""
    pending = pending_requests(cursor)
    if not pending:
        return None
    requests = []
    for path in pending:
        try:
            requests.append(json.loads(path.read_text()))
        except (OSError, ValueError):  # unreadable: still counts as a request
            requests.append({})
    newest = pending[-1].name
    _prune(newest)
    return Requests(full=any(r.get("full") for r in requests), newest=newest,
                    requested_by=sorted({r.get("requested_by") or "unknown" for r in requests}),
                    count=len(pending))


class ServePoller:
    """What `ehb pipeline serve` runs next. `make run` starts no Dagster daemon, so neither the
    schedules nor the refresh sensor tick there: this loop runs an incremental every `interval`
    seconds and, within a poll, the runs operators request (`ehb pipeline refresh`)."""

    POLL_SECONDS = 5

    def __init__(self, interval: float, clock=time.monotonic):
        self.interval, self.clock = interval, clock
        existing = pending_requests(None)  # made before this process: the first run covers them
        self.cursor = existing[-1].name if existing else None
        self.next_due = clock() + interval

    def next_run(self) -> Requests | None:
        """The run due now, or None; the schedule restarts after any run."""
        now = self.clock()
        requests = take_requests(self.cursor)
        if requests is not None:
            self.cursor = requests.newest
        elif now >= self.next_due:
            requests = Requests(full=False, newest=self.cursor or "",
                                requested_by=["schedule"], count=0)
        else:
            return None
        self.next_due = now + self.interval
        return requests


def refresh_sensor(incremental_job, full_job) -> dg.SensorDefinition:
    @dg.sensor(name="refresh_requests", jobs=[incremental_job, full_job],
               minimum_interval_seconds=10, default_status=dg.DefaultSensorStatus.RUNNING,
               description="Runs the pipeline when an operator requests a refresh "
                           "(`ehb pipeline refresh [--full]`).")
    def _sensor(context: dg.SensorEvaluationContext):
        requests = take_requests(context.cursor)
        if requests is None:
            return dg.SkipReason("no refresh requested")
        context.update_cursor(requests.newest)
        return dg.RunRequest(
            run_key=requests.newest.removesuffix(".json"),
            job_name=(full_job if requests.full else incremental_job).name,
            tags={"ehb/requested_by": ", ".join(requests.requested_by),
                  "ehb/requests": str(requests.count)})

    return _sensor
