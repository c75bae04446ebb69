"""`ehb up` creates the Dagster instance's storage once before the services that open it
start together: opened at the same moment for the first time, SQLite storage is stamped
twice and then refuses every later open ("more than one head")."""

from __future__ import annotations

import os
import subprocess
import sys

OPEN = ("import dagster as dg; i = dg.DagsterInstance.get(); "
        "print(len(i.get_run_records(limit=1))); i.dispose()")


def test_dagster_service_leaves_an_instance_that_concurrent_processes_open(tmp_path,
                                                                           monkeypatch):
    from api.settings import get_settings
    from pipelines.launcher import dagster_service

    # set, then deleted: monkeypatch then restores whatever was there, including "unset",
    # although dagster_home() sets DAGSTER_HOME in this process
    monkeypatch.setenv("DAGSTER_HOME", "placeholder")
    monkeypatch.delenv("DAGSTER_HOME")
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        service = dagster_service()
    finally:
        get_settings.cache_clear()
    home = tmp_path / "dagster"
    assert service.env["DAGSTER_HOME"] == str(home.resolve())
    for storage in ("history/runs.db", "schedules/schedules.db"):
        assert (home / storage).exists(), storage
    env = {**os.environ, "DAGSTER_HOME": str(home.resolve())}
    procs = [subprocess.Popen([sys.executable, "-c", OPEN], env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(3)]
    results = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], [err[-500:] for _, err in results]
    assert [out.strip() for out, _ in results] == ["0", "0", "0"]
