"""Incremental ingestion against the real PostgreSQL and a temporary DuckDB file."""

from __future__ import annotations

import subprocess
import sys
import time

import duckdb
import pytest

from pipelines.ingest import ingest_table
from pipelines.tables import BY_NAME, TABLES, Table
from tests.pipelines.conftest import assert_matches_source, new_user, pg_exec


@pytest.fixture(scope="module")
def con(warehouse_dir):
    c = duckdb.connect(str(warehouse_dir / "ingest.duckdb"))
    yield c
    c.close()


@pytest.fixture(scope="module")
def seeded(database_url):
    users = [new_user() for _ in range(3)]
    ids = ",".join(str(u.id) for u in users)
    pg_exec(database_url,
            "INSERT INTO security_events (event_type, user_id, email, details) "
            f"SELECT 'login_failed', id, email, '{{}}' FROM users WHERE id IN ({ids})",
            "INSERT INTO login_throttles (key, failures) VALUES ('account:t@x.io', 2), "
            "('client:10.0.0.1', 1) ON CONFLICT DO NOTHING")
    return users


def _state(con, table: Table):
    # every column, batch id and load time included: a rerun must not rewrite any row
    return con.execute(f'SELECT count(*), sum(hash(t)) FROM raw."{table.name}" t').fetchone()


def test_full_then_rerun_changes_nothing(con, database_url, seeded):
    for table in TABLES:
        assert ingest_table(con, database_url, table).mode == "full"
        assert_matches_source(con, database_url, table)
    before = {t.name: _state(con, t) for t in TABLES}
    for table in TABLES:
        res = ingest_table(con, database_url, table)
        assert res.mode == "incremental"
        assert res.rows_written == 0 and res.rows_deleted == 0
        assert res.rows_read >= 0
    assert {t.name: _state(con, t) for t in TABLES} == before
    # secrets never reach the warehouse
    cols = {r[0] for r in con.execute('DESCRIBE raw."users"').fetchall()}
    assert "password_hash" not in cols and "mfa_secret" not in cols


def test_updates_and_deletes_propagate(con, database_url, seeded, make_user):
    users = BY_NAME["users"]
    victim, changed = seeded[0], seeded[1]
    new_user, _ = make_user()
    pg_exec(database_url,
            f"UPDATE users SET display_name = 'renamed' WHERE id = {changed.id}",
            f"DELETE FROM users WHERE id = {victim.id}")
    res = ingest_table(con, database_url, users)
    assert res.rows_written == 2  # the update and the new user; unchanged rows untouched
    assert res.rows_deleted == 1
    assert con.execute("SELECT display_name FROM raw.users WHERE id = ?",
                       [changed.id]).fetchone() == ("renamed",)
    assert con.execute("SELECT count(*) FROM raw.users WHERE id IN (?, ?)",
                       [victim.id, new_user.id]).fetchone() == (1,)
    assert_matches_source(con, database_url, users)
    # cascaded deletes reach the children too
    for name in ("refresh_tokens", "email_tokens", "security_events"):
        ingest_table(con, database_url, BY_NAME[name])
        assert_matches_source(con, database_url, BY_NAME[name])


def test_text_key_delete_and_recreate(con, database_url, seeded):
    throttles = BY_NAME["login_throttles"]
    trigger_arg = pg_exec(database_url, "SELECT encode(tgargs, 'escape') FROM pg_trigger "
                                        "WHERE tgname = 'trg_login_throttles_deleted'")[0][0]
    if not trigger_arg.startswith("key"):
        pytest.skip("login_throttles delete trigger records pk 'id' (fixed by auth migration 0002)")
    pg_exec(database_url, "DELETE FROM login_throttles WHERE key = 'client:10.0.0.1'",
            "UPDATE login_throttles SET failures = 5 WHERE key = 'account:t@x.io'")
    ingest_table(con, database_url, throttles)
    assert_matches_source(con, database_url, throttles)
    # a deleted key created again later is kept (the delete is older than the new row)
    pg_exec(database_url, "INSERT INTO login_throttles (key, failures) VALUES ('client:10.0.0.1', 7)")
    ingest_table(con, database_url, throttles)
    assert con.execute("SELECT failures FROM raw.login_throttles WHERE key = 'client:10.0.0.1'"
                       ).fetchone() == (7,)


def test_full_refresh_on_demand(con, database_url):
    res = ingest_table(con, database_url, BY_NAME["users"], full_refresh=True)
    assert res.mode == "full"
    assert_matches_source(con, database_url, BY_NAME["users"])


KILLABLE = """
import sys, duckdb
import adbc_driver_postgresql.dbapi  # imported before "started": the kill lands mid-load
from pipelines.ingest import ingest_table
from pipelines.tables import BY_NAME
con = duckdb.connect(sys.argv[1])
print("started", flush=True)
ingest_table(con, sys.argv[2], BY_NAME["security_events"], full_refresh=sys.argv[3] == "full",
             parallel=2)
print("finished", flush=True)
"""


@pytest.mark.slow
def test_killed_ingestion_then_rerun_matches_source(warehouse_dir, database_url, seeded):
    """SIGKILL an ingestion midway (a full load in two ctid-range streams, then an incremental
    one): the rerun leaves the warehouse equal to PostgreSQL."""
    table = BY_NAME["security_events"]
    pg_exec(database_url,
            "INSERT INTO security_events (event_type, email, client_ip, details) "
            "SELECT 'login_failed', 'bulk' || g || '@x.io', '10.9.0.' || (g % 200), "
            "jsonb_build_object('n', g, 'pad', repeat('x', 200)) "
            "FROM generate_series(1, 400000) g")
    path = str(warehouse_dir / "killed.duckdb")
    for mode in ("full", "incremental"):
        if mode == "incremental":  # change rows on both sides of the watermark
            pg_exec(database_url, "DELETE FROM security_events WHERE id % 1000 = 3",
                    "INSERT INTO security_events (event_type, details) "
                    "SELECT 'login_succeeded', '{}' FROM generate_series(1, 50000)")
        proc = subprocess.Popen([sys.executable, "-c", KILLABLE, path, database_url, mode],
                                stdout=subprocess.PIPE, text=True)
        assert proc.stdout.readline().strip() == "started"
        time.sleep(0.4 if mode == "full" else 0.25)
        assert proc.poll() is None, "ingestion finished before it could be killed"
        proc.kill()
        proc.wait()
        con = duckdb.connect(path)
        try:
            res = ingest_table(con, database_url, table)
            assert_matches_source(con, database_url, table)
            if mode == "incremental":
                assert res.mode == "incremental"
        finally:
            con.close()
    pg_exec(database_url, "DELETE FROM security_events WHERE email LIKE 'bulk%' "
                          "OR (event_type = 'login_succeeded' AND user_id IS NULL)")
