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
    """The Dagster UI on workspace.yaml (answers after ~50 s; not waited for). The instance's
    storage is created first, in a child process (the launcher does not import Dagster), so
    the services that open it concurrently find it made (see pipelines.run.init_instance)."""
    import subprocess

    from api.launcher import ServiceProcess
    from api.settings import get_settings
    from pipelines.run import dagster_home

    settings = get_settings()
    home = dagster_home(settings.data_dir)
    # DAGSTER_HOME (set above, absolute) reaches the child through the environment.
    subprocess.run([sys.executable, "-c", "from pipelines.run import init_instance; "
                    "init_instance()"], check=True)
    url = f"http://{settings.dagster_host}:{settings.dagster_port}"
    return ServiceProcess("Dagster UI", dagster_ui_argv(settings.dagster_host,
                                                        settings.dagster_port),
                          url, None, {"DAGSTER_HOME": str(home)})


def dagster_ui_argv(host: str, port: int) -> list[str]:
    """dagster-webserver on workspace.yaml. The UI has no sign-in: the host is DAGSTER_HOST
    (default 127.0.0.1), never the gateway's API_HOST."""
    exe = Path(sys.executable).parent / "dagster-webserver"
    return [str(exe), "-w", str(ROOT / "workspace.yaml"), "-h", host, "-p", str(port)]
