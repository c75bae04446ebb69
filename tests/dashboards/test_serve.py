"""`ehb up` can start the Dash app: the process answers /healthz and the sign-in page."""

from __future__ import annotations

import os
import socket
import subprocess
import time

import httpx


def test_dash_service_process_starts_and_answers(tmp_path, snapshot_path, database_url):
    """(Its sessions live in PostgreSQL: DATABASE_URL reaches it as under `ehb up`.)"""
    from dashboards.launcher import dash_service

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "DASH_PORT": str(port), "EHB_WAREHOUSE_DIR": str(snapshot_path.parent),
           "DATABASE_URL": database_url}
    old = os.environ.get("DASH_PORT")
    os.environ["DASH_PORT"] = str(port)
    try:
        from api.settings import get_settings
        get_settings.cache_clear()
        svc = dash_service()
    finally:
        if old is None:
            os.environ.pop("DASH_PORT", None)
        get_settings.cache_clear()
    assert svc.health_url == f"http://127.0.0.1:{port}/healthz"
    proc = subprocess.Popen(svc.argv, env={**env, **svc.env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(svc.health_url, timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        assert health.json() == {"status": "ok", "snapshot": True}
        assert httpx.get(f"http://127.0.0.1:{port}/login").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 302
    finally:
        proc.terminate()
        proc.wait(timeout=10)
