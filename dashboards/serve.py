"""Serving the Dash app: `ehb dash` and the process `ehb up` starts."""

from __future__ import annotations

import sys

from api.settings import get_settings


def service_argv(port: int | None = None) -> list[str]:
    """What `ehb up` runs for the Dash app (health at /healthz, answers without a session)."""
    return [sys.executable, "-m", "dashboards", "--port", str(port or get_settings().dash_port)]


def serve(host: str | None = None, port: int | None = None) -> None:
    from werkzeug.serving import run_simple

    from dashboards.app import create_app
    from dashboards.settings import get_dash_settings

    settings = get_dash_settings()
    app = create_app(settings)
    # Threaded WSGI server: callbacks are short DuckDB reads; one process keeps the
    # scoped-connection cache warm.
    run_simple(host or settings.host, port or get_settings().dash_port, app.server,
               threaded=True, use_reloader=False, use_debugger=False)
