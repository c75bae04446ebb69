"""`ehb up` and `ehb api`: start what the platform needs, report where it listens, stop it all
cleanly (children first, then the embedded PostgreSQL) on Ctrl-C or when a child dies."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field

import httpx
from rich.console import Console
from rich.table import Table

from api.db import reset_engine
from api.settings import get_settings

console = Console(stderr=True)


@dataclass
class ServiceProcess:
    name: str
    argv: list[str]
    url: str
    health_url: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen | None = None


def _uvicorn_argv(host: str, port: int, workers: int) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "api.main:app_factory", "--factory",
            "--host", host, "--port", str(port), "--workers", str(workers),
            "--no-access-log", "--proxy-headers", "--log-level", "warning"]


def _prepare_metrics_dir(workers: int) -> dict[str, str]:
    # Several workers: prometheus_client aggregates per-process files from one directory.
    if workers <= 1:
        return {}
    path = get_settings().data_dir.resolve() / "prometheus"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return {"PROMETHEUS_MULTIPROC_DIR": str(path)}


def serve_api_blocking(host: str | None, port: int | None, workers: int | None) -> None:
    from api.production import api_settings, refuse_development_defaults

    refuse_development_defaults(api_settings())  # once here, not in every uvicorn worker
    settings = get_settings()
    workers = workers or settings.api_workers
    env = {**os.environ, **_prepare_metrics_dir(workers)}
    argv = _uvicorn_argv(host or settings.api_host, port or settings.api_port, workers)
    os.execve(argv[0], argv, env)


def _ensure_database():
    """Returns the embedded server when one had to be started (None when DATABASE_URL is set)."""
    settings = get_settings()
    if settings.database_url:
        return None
    from api.embedded_pg import EmbeddedPostgres

    server = EmbeddedPostgres(settings.data_dir)
    with console.status("starting embedded PostgreSQL under data/pg ..."):
        os.environ["DATABASE_URL"] = server.start()
    reset_engine()
    return server


def _wait_healthy(url: str, timeout: float, proc: subprocess.Popen) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with code {proc.returncode} before {url} was healthy")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} not healthy after {timeout:.0f} s")


def platform_services(workers: int) -> list[ServiceProcess]:
    from api.jobs.launcher import worker_service
    from api.notifications.mailsink import mailsink_service
    from dashboards.launcher import dash_service
    from pipelines.launcher import dagster_service, pipeline_service

    settings = get_settings()
    api_url = f"http://{settings.api_host}:{settings.api_port}"

    services = [
        mailsink_service(),
        ServiceProcess("API gateway", _uvicorn_argv(settings.api_host, settings.api_port, workers),
                       f"{api_url}/docs", f"{api_url}/health", _prepare_metrics_dir(workers)),
        worker_service(),
        dash_service(),
        pipeline_service(),
        dagster_service(),
    ]
    return [svc for svc in services if svc is not None]


def run_platform(workers: int | None = None) -> None:
    from api.production import all_settings, refuse_development_defaults

    # Before anything starts: every secret of every service, named at once.
    refuse_development_defaults(all_settings())
    t0 = time.monotonic()
    settings = get_settings()
    workers = workers or settings.api_workers
    server = _ensure_database()
    children: list[ServiceProcess] = []
    try:
        from api import migrate

        with console.status("applying migrations ..."):
            migrate.upgrade()
        children = platform_services(workers)
        for svc in children:
            svc.process = subprocess.Popen(svc.argv, env={**os.environ, **svc.env})
        for svc in children:
            if svc.health_url:
                _wait_healthy(svc.health_url, 120, svc.process)
        _print_ready(children, time.monotonic() - t0, embedded=server is not None)
        _supervise(children)
    finally:
        _stop_children(children)
        if server is not None:
            server.stop()
            console.print("embedded PostgreSQL stopped")


def _print_ready(children: list[ServiceProcess], elapsed: float, embedded: bool) -> None:
    table = Table(title=f"EHB-5 platform ready in {elapsed:.1f} s (Ctrl-C stops everything)")
    table.add_column("service")
    table.add_column("url")
    for svc in children:
        table.add_row(svc.name, svc.url)
    table.add_row("PostgreSQL", "embedded, data/pg" if embedded else "DATABASE_URL")
    console.print(table)


def _supervise(children: list[ServiceProcess]) -> None:
    stop = {"now": False}

    def _on_signal(signum, _frame):
        stop["now"] = True

    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGINT, _on_signal)
    while not stop["now"]:
        for svc in children:
            if svc.process and svc.process.poll() is not None:
                console.print(f"[red]{svc.name} exited with code {svc.process.returncode}[/red]")
                return
        time.sleep(0.5)


def _stop_children(children: list[ServiceProcess]) -> None:
    for svc in children:
        if svc.process and svc.process.poll() is None:
            svc.process.send_signal(signal.SIGTERM)
    for svc in children:
        if svc.process:
            try:
                svc.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                svc.process.kill()
