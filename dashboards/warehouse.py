"""The query layer over the published snapshot: every dashboard query and every report runs
through `run()`, which executes it on a scoped catalog.

The snapshot (a DuckDB file the data side replaces by atomic rename) is ATTACHed read-only
into an in-memory database that exposes each contract mart as a view of the same name
(`marts.x`, `ops.x`). For a scoped viewer each view carries the scope predicate, whose ids
are bound parameters stored in `main.scope_ids`; a mart the viewer has no claim on is empty.
Queries are checked before they run (dashboards.sql_gate: one SELECT, only contract marts and
CTEs in scope, no catalog-qualified names, no table functions); file access is disabled. The
catalog is rebuilt when the snapshot file changes (inode, mtime or size), so the next query
sees the new data.
"""

from __future__ import annotations

import logging
import os
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from dashboards.catalog import MARTS, Mart
from dashboards.scope import Scope
# Re-exported: callers (reports, pages) import the gate's names from here.
from dashboards.sql_gate import QueryRejected, analyze, referenced_marts  # noqa: F401

log = logging.getLogger("ehb.dashboards")
_SNAPSHOT_ALIAS = "snap"
_MAX_CACHED = 64


class SnapshotMissing(RuntimeError):
    """No snapshot has been published yet."""


@dataclass
class Result:
    columns: list[str]
    rows: list[tuple]

    def dicts(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, r)) for r in self.rows]

    def column(self, name: str) -> list:
        i = self.columns.index(name)
        return [r[i] for r in self.rows]


@dataclass
class Pending:
    cursor: duckdb.DuckDBPyConnection
    relation: duckdb.DuckDBPyRelation

    @property
    def columns(self) -> list[str]:
        return list(self.relation.columns)

    def batches(self, rows: int):
        """Arrow record batches of `rows` rows, produced as they are read (flat memory)."""
        return self.relation.to_arrow_reader(rows)

    def head(self, n: int) -> list[tuple]:
        return self.relation.limit(n).fetchall()

    def close(self) -> None:
        self.cursor.close()


def _version(path: Path) -> tuple[int, int, int]:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise SnapshotMissing(f"no warehouse snapshot published at {path}") from None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _predicate(m: Mart, scope: Scope) -> str:
    if scope.unrestricted:
        return "true"
    parts = [f'"{column}" IN (SELECT id FROM main.scope_ids WHERE kind = \'{kind}\')'
             for kind, column in sorted(m.scope.items()) if kind in scope.kinds()]
    return " OR ".join(parts) if parts else "false"


class Warehouse:
    """Scoped, read-only access to one snapshot file; safe to share between threads."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.contract_problems: list[str] = []
        self._cache: OrderedDict[Scope, tuple[tuple, duckdb.DuckDBPyConnection, set[str]]] = (
            OrderedDict())

    def available(self) -> bool:
        return self.path.exists()

    def _build(self, scope: Scope, version: tuple) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
        con = duckdb.connect(":memory:")
        literal = str(self.path.resolve()).replace("'", "''")
        con.execute(f"ATTACH '{literal}' AS {_SNAPSHOT_ALIAS} (READ_ONLY)")
        present = {f"{s}.{t}" for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? "
            "UNION ALL SELECT schema_name, view_name FROM duckdb_views() "
            "WHERE database_name = ? AND NOT internal", [_SNAPSHOT_ALIAS, _SNAPSHOT_ALIAS]
        ).fetchall()}
        self._check_contract(con, present)
        con.execute("CREATE TABLE main.scope_ids (kind VARCHAR, id BIGINT)")
        if scope.rows():
            con.executemany("INSERT INTO main.scope_ids VALUES (?, ?)", scope.rows())
        exposed = set()
        for name, m in MARTS.items():
            if name not in present:
                continue
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {m.schema}")
            con.execute(f'CREATE VIEW {m.schema}."{m.table}" AS SELECT * FROM '
                        f'{_SNAPSHOT_ALIAS}.{m.schema}."{m.table}" WHERE {_predicate(m, scope)}')
            exposed.add(name)
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        return con, exposed

    def _check_contract(self, con: duckdb.DuckDBPyConnection, present: set[str]) -> None:
        """Columns the catalog expects but the snapshot lacks (shown on the data quality page)."""
        found: dict[str, set[str]] = {}
        for schema, table, column in con.execute(
                "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
                "WHERE database_name = ?", [_SNAPSHOT_ALIAS]).fetchall():
            found.setdefault(f"{schema}.{table}", set()).add(column)
        problems = []
        for name, m in MARTS.items():
            if name in present:
                missing = sorted(set(m.columns) - found.get(name, set()))
                if missing:
                    problems.append(f"{name} lacks {', '.join(missing)}")
        if problems:
            log.warning("snapshot differs from the marts contract: %s", "; ".join(problems))
        self.contract_problems = problems

    def _connection(self, scope: Scope) -> tuple[duckdb.DuckDBPyConnection, set[str]]:
        version = _version(self.path)
        with self._lock:
            cached = self._cache.get(scope)
            if cached and cached[0] == version:
                self._cache.move_to_end(scope)
                return cached[1], cached[2]
            # A new snapshot: drop every connection to the old file so its disk space is freed.
            for stale in [k for k, v in self._cache.items() if v[0] != version]:
                del self._cache[stale]
            con, exposed = self._build(scope, version)
            self._cache[scope] = (version, con, exposed)
            self._cache.move_to_end(scope)
            while len(self._cache) > _MAX_CACHED:
                self._cache.popitem(last=False)
            return con, exposed

    def marts(self, scope: Scope | None = None) -> set[str]:
        """Contract marts present in the current snapshot."""
        return set(self._connection(scope or Scope.everything())[1])

    def cursor(self, sql: str, params: dict | list | None, scope: Scope):
        """A cursor with the query executed (stream big results with fetch_record_batch)."""
        con, exposed = self._connection(scope)
        check_sql(sql, exposed)
        cur = con.cursor()
        cur.execute(sql, params or [])
        return cur

    def pending(self, sql: str, params: dict | None, scope: Scope) -> "Pending":
        """The query bound but not yet run: stream it in Arrow batches (exports)."""
        con, exposed = self._connection(scope)
        check_sql(sql, exposed)
        cur = con.cursor()
        try:
            return Pending(cur, cur.sql(sql, params=params or {}))
        except Exception:
            cur.close()
            raise

    def run(self, sql: str, params: dict | list | None, scope: Scope) -> Result:
        cur = self.cursor(sql, params, scope)
        try:
            return Result([d[0] for d in cur.description], cur.fetchall())
        finally:
            cur.close()


def check_sql(sql: str, exposed: set[str]) -> set[str]:
    used = referenced_marts(sql)
    missing = used - exposed
    if missing:
        raise SnapshotMissing(f"the snapshot has no {', '.join(sorted(missing))} yet")
    return used


_shared: dict[Path, Warehouse] = {}
_shared_lock = threading.Lock()


def warehouse_at(path: Path | str) -> Warehouse:
    """One Warehouse per snapshot path in this process (connections are cached inside)."""
    key = Path(path).resolve()
    with _shared_lock:
        if key not in _shared:
            _shared[key] = Warehouse(key)
        return _shared[key]


def default_warehouse() -> Warehouse:
    from dashboards.settings import get_dash_settings

    return warehouse_at(get_dash_settings().snapshot_path)
