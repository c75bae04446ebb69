"""The data platform as services `ehb up` starts (like dashboards.launcher.dash_service):
add `pipeline_service()` and `dagster_service()` to api.launcher.platform_services."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pipeline_service():
    """`ehb pipeline serve`: demo data when the database is empty, a full materialization, then
    an incremental run every EHB_PIPELINE_INTERVAL seconds (default 900)."""
    from api.launcher import ServiceProcess

    snapshot = ROOT / "data" / "warehouse" / "snapshot.duckdb"
    return ServiceProcess("Data pipeline (ingest, validate, dbt, publish)",
                          [sys.executable, "-c", "from api.cli import main; main()",
                           "pipeline", "serve"], f"snapshot {snapshot}")


def dagster_service():
    """The Dagster UI on workspace.yaml (answers after ~50 s; not waited for)."""
    from api.launcher import ServiceProcess
    from api.settings import get_settings
    from pipelines.run import dagster_home

    settings = get_settings()
    home = dagster_home(settings.data_dir)
    exe = Path(sys.executable).parent / "dagster-webserver"
    url = f"http://{settings.api_host}:{settings.dagster_port}"
    return ServiceProcess("Dagster UI", [str(exe), "-w", str(ROOT / "workspace.yaml"),
                                         "-h", settings.api_host, "-p", str(settings.dagster_port)],
                          url, None, {"DAGSTER_HOME": str(home)})
