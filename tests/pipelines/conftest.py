"""Fixtures for the data platform tests: a temporary warehouse folder (EHB_WAREHOUSE_DIR) and
helpers comparing the warehouse with PostgreSQL."""

from __future__ import annotations

import os

import duckdb
import pytest

from pipelines.pg_source import pg_connect
from pipelines.tables import Table

META = ("_batch_id", "_ingested_at")


@pytest.fixture(scope="module")
def warehouse_dir(tmp_path_factory, database_url):
    path = tmp_path_factory.mktemp("warehouse")
    old = os.environ.get("EHB_WAREHOUSE_DIR")
    os.environ["EHB_WAREHOUSE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("EHB_WAREHOUSE_DIR", None)
    else:
        os.environ["EHB_WAREHOUSE_DIR"] = old


def source_arrow(database_url: str, table: Table, cols: list[str]):
    pg = pg_connect(database_url)
    try:
        with pg.cursor() as cur:
            cur.execute(f'SELECT {", ".join(chr(34) + c + chr(34) for c in cols)} FROM "{table.name}"')
            return cur.fetch_arrow_table()
    finally:
        pg.close()


def assert_matches_source(con: duckdb.DuckDBPyConnection, database_url: str, table: Table):
    """raw.<t> holds exactly the rows PostgreSQL holds (every ingested column, both ways)."""
    cols = [r[0] for r in con.execute(f'DESCRIBE raw."{table.name}"').fetchall()
            if r[0] not in META]
    src = source_arrow(database_url, table, cols)  # noqa: F841 (scanned by DuckDB)
    col_sql = ", ".join(f'"{c}"' for c in cols)
    only_src = con.execute(f'SELECT count(*) FROM (SELECT {col_sql} FROM src EXCEPT ALL '
                           f'SELECT {col_sql} FROM raw."{table.name}")').fetchone()[0]
    only_raw = con.execute(f'SELECT count(*) FROM (SELECT {col_sql} FROM raw."{table.name}" '
                           f'EXCEPT ALL SELECT {col_sql} FROM src)').fetchone()[0]
    assert (only_src, only_raw) == (0, 0), f"{table.name}: {only_src} rows missing, {only_raw} extra"
    return src.num_rows


def pg_exec(database_url: str, *statements: str):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        out = None
        for sql in statements:
            cur = conn.execute(sql)
            out = cur.fetchall() if cur.description else None
        return out


def new_user(**kwargs):
    """A user through the auth service (module-scoped fixtures cannot use make_user)."""
    import uuid

    from api.auth.service import create_user
    from api.db import session_scope

    with session_scope() as session:
        return create_user(session, f"dp-{uuid.uuid4().hex[:12]}@example.com",
                           "correct horse battery staple", verified=True, **kwargs)
