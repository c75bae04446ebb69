"""`ehb`: the platform's command line. Each package may add commands through a `cli.py`
exposing `register(root, bench)`; heavy imports stay inside the commands."""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import typer

import api

root = typer.Typer(help="EHB-5 platform", no_args_is_help=True, pretty_exceptions_enable=False)
db_app = typer.Typer(help="database migrations (Alembic)", no_args_is_help=True)
bench_app = typer.Typer(help="benchmarks that print ratios measured in one run",
                        no_args_is_help=True)
root.add_typer(db_app, name="db")
root.add_typer(bench_app, name="bench")


@db_app.command("upgrade")
def db_upgrade(target: str = typer.Argument("heads")) -> None:
    """Apply migrations (default: every service branch to its head)."""
    from api import migrate
    migrate.upgrade(target)


@db_app.command("downgrade")
def db_downgrade(target: str = typer.Argument(..., help="revision, e.g. -1 or base")) -> None:
    from api import migrate
    migrate.downgrade(target)


@db_app.command("current")
def db_current(verbose: bool = False) -> None:
    from api import migrate
    migrate.current(verbose)


@root.command("api")
def serve_api(
    host: str = typer.Option(None, help="bind address (default from settings)"),
    port: int = typer.Option(None, help="port (default from settings)"),
    workers: int = typer.Option(None, help="worker processes (stateless: any number)"),
) -> None:
    """Serve the API gateway with uvicorn (needs DATABASE_URL; `ehb up` provides one)."""
    from api.launcher import serve_api_blocking
    serve_api_blocking(host, port, workers)


@root.command("up")
def up(
    workers: int = typer.Option(None, help="API worker processes"),
) -> None:
    """The whole platform: embedded PostgreSQL when DATABASE_URL is unset, migrations, services."""
    from api.launcher import run_platform
    run_platform(workers=workers)


def _register_package_clis() -> None:
    base = Path(api.__file__).parent
    modules = [f"api.{m.name}.cli" for m in pkgutil.iter_modules([str(base)])
               if m.ispkg and (base / m.name / "cli.py").exists()]
    for top in ("pipelines", "dashboards"):
        if (base.parent / top / "cli.py").exists():
            modules.append(f"{top}.cli")
    for name in sorted(modules):
        importlib.import_module(name).register(root, bench_app)


_register_package_clis()


def main() -> None:
    from api.production import DevelopmentDefaultsInProduction

    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    try:
        root()
    except DevelopmentDefaultsInProduction as exc:  # a message, not a traceback
        print(f"ehb: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
