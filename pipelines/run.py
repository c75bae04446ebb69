"""In-process runs of the whole pipeline (CLI `ehb pipeline run`, `ehb up`, tests) and the
Dagster instance under data/dagster (telemetry off; PostgreSQL run storage when
DAGSTER_PG_URL is set, SQLite otherwise)."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

DAGSTER_YAML = """\
telemetry:
  enabled: false
{storage}"""

PG_STORAGE = """\
storage:
  postgres:
    postgres_url: {url}
"""


def dagster_home(data_dir: Path | None = None) -> Path:
    """Create data/dagster with its dagster.yaml and point DAGSTER_HOME at it."""
    home = Path(os.environ.get("DAGSTER_HOME") or (data_dir or Path("data")) / "dagster").resolve()
    home.mkdir(parents=True, exist_ok=True)
    pg_url = os.environ.get("DAGSTER_PG_URL")
    storage = PG_STORAGE.format(url=pg_url) if pg_url else ""
    (home / "dagster.yaml").write_text(DAGSTER_YAML.format(storage=storage))
    os.environ["DAGSTER_HOME"] = str(home)
    return home


def init_instance(data_dir: Path | None = None) -> Path:
    """Create the instance's storage once. Its SQLite storages stamp their schema version when
    first opened, and processes opening a new instance at the same moment (the pipeline
    service, the Dagster UI's code server, the Dash app's status reader) stamp it twice, after
    which none can open it. `ehb up` calls this before starting them."""
    import dagster as dg

    home = dagster_home(data_dir)
    instance = dg.DagsterInstance.get()
    instance.get_run_records(limit=1)  # touches run, event-log and schedule storage
    instance.dispose()
    return home


def _report_steps(instance, callback: Callable[[str, str], None]) -> None:
    """Forward the run's step events to `callback` (the CLI's progress display)."""
    store = instance.handle_new_event

    def handle(event, *args, **kwargs):
        result = store(event, *args, **kwargs)
        if event.is_dagster_event and event.step_key:
            callback(event.dagster_event.event_type_value, event.step_key)
        return result

    instance.handle_new_event = handle


def run_pipeline(*, full: bool = False, instance=None,
                 progress: Callable[[str, str], None] | None = None, raw_tables=None):
    """Materialize every asset (ingest, validate, dbt build, publish) in this process;
    `raw_tables` limits ingestion to those tables (dbt still builds everything)."""
    import dagster as dg

    from pipelines.definitions import defs

    job = defs.resolve_job_def("ehb_full_refresh" if full else "ehb_incremental")
    if instance is None:
        dagster_home()
        instance = dg.DagsterInstance.get()
    run_config = None
    if progress:  # the progress display replaces Dagster's DEBUG console log
        _report_steps(instance, progress)
        run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    selection = None
    if raw_tables is not None:
        selection = [k for k in defs.resolve_all_asset_keys()
                     if k.path[0] in ("staging", "intermediate", "marts")
                     or (k.path[0] == "raw" and k.path[1] in raw_tables)]
    return job.execute_in_process(instance=instance, raise_on_error=False,
                                  asset_selection=selection, run_config=run_config)


def serve_dagster_ui(host: str | None = None, port: int | None = None) -> None:
    """`dagster-webserver` on workspace.yaml with DAGSTER_HOME under data/ (blocking); host
    and port default to DAGSTER_HOST and DAGSTER_PORT."""
    import subprocess

    from api.settings import get_settings
    from pipelines.launcher import ROOT, dagster_ui_argv

    settings = get_settings()
    dagster_home(settings.data_dir)
    subprocess.run(dagster_ui_argv(host or settings.dagster_host, port or settings.dagster_port),
                   cwd=ROOT, check=False)


def bootstrap_demo(*, days: int = 90, users: int = 300, seed: int = 5,
                   echo: Callable[[str], None] = print) -> bool:
    """For `ehb up`: when the operational database has no users, simulate demo data through
    the services; then materialize everything and publish the snapshot. Returns run success."""
    from sqlalchemy import func, select

    from api.auth.models import User
    from api.db import new_session

    with new_session() as session:
        empty = not session.scalar(select(func.count()).select_from(User))
    if empty:
        from api.simulator.engine import run

        echo(f"empty database: simulating {days} days of activity ({users} users, seed {seed})")
        from datetime import UTC, datetime

        # the demo's "today" is the real one: `ehb up` shows recent activity
        ctx = run(days=days, users=users, seed=seed, end=datetime.now(UTC).date(),
                  session_factory=new_session)
        echo("simulated: " + ", ".join(f"{k}={v}" for k, v in sorted(ctx.counts.items())))
    echo("materializing the warehouse (ingest, validate, dbt build, publish) ...")
    result = run_pipeline(full=empty)
    echo(f"warehouse {'published' if result.success else 'run FAILED (see the Dagster UI)'}")
    return result.success
