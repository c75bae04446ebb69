"""ADBC connections share one driver database per process: the server's types are read once,
read again when they change, and no connection outlives its session."""

from __future__ import annotations

import uuid

import psycopg
from sqlalchemy.engine import make_url

from pipelines import pg_source
from pipelines.pg_source import adbc_uri, pg_connect, pg_session
from tests.pipelines.conftest import pg_exec


def _scalar(conn, sql: str):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetch_arrow_table()


def test_a_type_created_after_the_first_connect_is_read_as_text(database_url):
    pg_connect(database_url).close()  # the process's shared database has read the types
    name = f"ehb_test_late_{uuid.uuid4().hex[:6]}"
    pg_exec(database_url, f"CREATE TYPE {name} AS ENUM ('on', 'off')")
    try:
        conn = pg_connect(database_url)
        try:
            table = _scalar(conn, f"SELECT 'off'::{name} AS state")
        finally:
            conn.close()
        # a stale type table would give an opaque binary column holding b'off'
        assert str(table.schema.field("state").type) == "string"
        assert table.column("state").to_pylist() == ["off"]
    finally:
        pg_exec(database_url, f"DROP TYPE {name}")


def test_sessions_share_the_types_and_hold_no_backend_after_close(database_url):
    admin = make_url(database_url).set(drivername="postgresql")
    name = f"ehb_test_pg_{uuid.uuid4().hex[:8]}"
    admin_url = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    try:
        first, second = pg_session(url), pg_session(url)
        shared = pg_source._databases[adbc_uri(url) + "?options=-c%20jit%3Doff"][0]
        assert first._db is shared and second._db is shared  # one driver database, one type read
        assert _scalar(first, "SELECT 1 AS one").column("one").to_pylist() == [1]
        first.close()
        # closing one session leaves the shared database usable for the other and the next
        assert _scalar(second, "SELECT 2 AS two").column("two").to_pylist() == [2]
        second.close()
        third = pg_session(url)
        assert third._db is shared
        third.close()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            backends = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s",
                                    [name]).fetchone()[0]
        assert backends == 0
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')  # no FORCE: nothing may linger
