"""Readers of the warehouse: open the published snapshot read-only, never the build file.

Imports only duckdb, so dashboards and the API can use it without dagster/dbt. Every call opens
the file that is current *now*: a publish replaces it by atomic rename, so the next query sees
the new snapshot, and a reader that still holds the old file keeps a consistent view of it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

ENV_DIR = "EHB_WAREHOUSE_DIR"
SNAPSHOT_NAME = "snapshot.duckdb"
BUILD_NAME = "build.duckdb"


class SnapshotMissing(RuntimeError):
    """No snapshot has been published yet (run `ehb pipeline run`)."""


def warehouse_dir() -> Path:
    default = Path(os.environ.get("EHB_DATA_DIR", "data")) / "warehouse"
    return Path(os.environ.get(ENV_DIR) or default).resolve()


def snapshot_path() -> Path:
    return warehouse_dir() / SNAPSHOT_NAME


def build_path() -> Path:
    return warehouse_dir() / BUILD_NAME


@contextmanager
def connect(path: Path | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the current snapshot; close it soon (use `with`)."""
    path = path or snapshot_path()
    if not path.exists():
        raise SnapshotMissing(f"no published warehouse snapshot at {path}")
    con = duckdb.connect(str(path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def query(sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
    with connect() as con:
        return con.execute(sql, params or []).fetchall()


def publish(build: Path | None = None, target: Path | None = None) -> Path:
    """Copy the build file (no writer may hold it) to a temporary name, then rename it over the
    snapshot: readers see either the old file or the new one, never a partial one."""
    import shutil

    build = build or build_path()
    target = target or snapshot_path()
    con = duckdb.connect(str(build))
    try:
        con.execute("CHECKPOINT")  # fold the WAL into the file we copy
    finally:
        con.close()
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    shutil.copyfile(build, tmp)
    with open(tmp, "rb+") as fh:
        os.fsync(fh.fileno())
    os.replace(tmp, target)
    return target
