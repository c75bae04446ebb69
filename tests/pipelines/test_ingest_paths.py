"""The full-load and type paths of the ingestion: parallel ctid streams read one snapshot, an
enum column is read as text, the kept row count, staging as Arrow or a temp table."""

from __future__ import annotations

import duckdb
import pytest

from pipelines import ingest
from pipelines.ingest import ingest_table
from pipelines.tables import Table
from tests.pipelines.conftest import assert_matches_source, pg_exec


@pytest.fixture
def con(warehouse_dir, request):
    c = duckdb.connect(str(warehouse_dir / f"{request.node.name}.duckdb"))
    yield c
    c.close()


def test_parallel_full_load_reads_one_snapshot(con, database_url, monkeypatch):
    """Rows updated while the streams start (new versions land on other pages, in another
    ctid range) are read once, as of the snapshot; the next incremental run brings the update."""
    pg_exec(database_url, "DROP TABLE IF EXISTS ehb_test_spread",
            "CREATE TABLE ehb_test_spread (id bigint PRIMARY KEY, v text NOT NULL, "
            "updated_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO ehb_test_spread (id, v) SELECT g, repeat('x', 200) "
            "FROM generate_series(1, 5000) g")
    table = Table("ehb_test_spread", "test")
    monkeypatch.setattr(ingest, "MIN_PAGES_PER_STREAM", 1)
    real_session, workers = ingest.pg_session, []

    def session(url, snapshot=None):
        if snapshot and not any(workers):  # after the export, before the first import
            pg_exec(database_url, "UPDATE ehb_test_spread SET v = 'moved', "
                                  "updated_at = now() WHERE id <= 100")
        workers.append(snapshot)
        return real_session(url, snapshot)

    monkeypatch.setattr(ingest, "pg_session", session)
    res = ingest_table(con, database_url, table, parallel=4)
    assert res.mode == "full" and len([s for s in workers if s]) == 3  # four ctid ranges
    assert con.execute("SELECT count(*), count(DISTINCT id), count(*) FILTER (v = 'moved') "
                       "FROM raw.ehb_test_spread").fetchone() == (5000, 5000, 0)

    monkeypatch.setattr(ingest, "pg_session", real_session)
    res = ingest_table(con, database_url, table)
    assert (res.mode, res.rows_written) == ("incremental", 100)  # only the changed rows
    assert_matches_source(con, database_url, table)
    assert ingest_table(con, database_url, table).rows_written == 0
    pg_exec(database_url, "DROP TABLE ehb_test_spread")


def test_single_stream_full_load_replaces_raw(con, database_url):
    """A full refresh swaps a complete new copy in: rows deleted at the source without a
    trace in ops_deleted_rows disappear too."""
    pg_exec(database_url, "DROP TABLE IF EXISTS ehb_test_small",
            "CREATE TABLE ehb_test_small (id bigint PRIMARY KEY, n int, "
            "updated_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO ehb_test_small (id, n) SELECT g, g FROM generate_series(1, 50) g")
    table = Table("ehb_test_small", "test")
    assert ingest_table(con, database_url, table).rows_read == 50
    pg_exec(database_url, "DELETE FROM ehb_test_small WHERE id > 40",
            "UPDATE ehb_test_small SET n = -n WHERE id <= 5")
    res = ingest_table(con, database_url, table, full_refresh=True)
    assert (res.mode, res.raw_rows) == ("full", 40)
    assert_matches_source(con, database_url, table)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '%__full'"
                       ).fetchone() == (0,)
    pg_exec(database_url, "DROP TABLE ehb_test_small")


def test_enum_column_is_read_as_text(con, database_url):
    pg_exec(database_url, "DROP TABLE IF EXISTS ehb_test_moods",
            "DROP TYPE IF EXISTS ehb_test_mood",
            "CREATE TYPE ehb_test_mood AS ENUM ('calm', 'tense')",
            "CREATE TABLE ehb_test_moods (id bigint PRIMARY KEY, mood ehb_test_mood, "
            "updated_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO ehb_test_moods (id, mood) VALUES (1, 'calm'), (2, 'tense'), (3, NULL)")
    table = Table("ehb_test_moods", "test")
    assert ingest_table(con, database_url, table).mode == "full"
    pg_exec(database_url, "UPDATE ehb_test_moods SET mood = 'tense', updated_at = now() "
                          "WHERE id = 1")
    res = ingest_table(con, database_url, table)
    assert (res.mode, res.rows_written) == ("incremental", 1)
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_schema = 'raw' AND table_name = 'ehb_test_moods'"
                             ).fetchall())
    assert types["mood"] == "VARCHAR"
    assert_matches_source(con, database_url, table)
    pg_exec(database_url, "DROP TABLE ehb_test_moods", "DROP TYPE ehb_test_mood")


@pytest.mark.parametrize("staged_as", ["arrow", "spilled temp table"])
def test_incremental_keeps_the_row_count_without_counting(con, database_url, monkeypatch,
                                                          staged_as):
    """raw_rows comes from ops.watermarks (inserted - replaced - deleted), not a count(*);
    a delta above STAGE_ARROW_BYTES goes through a DuckDB temp table with the same result."""
    from pipelines import ingest_delta

    if staged_as != "arrow":
        monkeypatch.setattr(ingest_delta, "STAGE_ARROW_BYTES", 1)
    pg_exec(database_url, "DROP TABLE IF EXISTS ehb_test_count",
            "CREATE TABLE ehb_test_count (id bigint PRIMARY KEY, n int, "
            "updated_at timestamptz NOT NULL DEFAULT now())",
            "CREATE TRIGGER ehb_test_count_deleted AFTER DELETE ON ehb_test_count FOR EACH ROW "
            "EXECUTE FUNCTION ehb_record_delete('id')",
            "INSERT INTO ehb_test_count (id, n) SELECT g, g FROM generate_series(1, 300) g")
    table = Table("ehb_test_count", "test")
    assert ingest_table(con, database_url, table).raw_rows == 300
    pg_exec(database_url, "UPDATE ehb_test_count SET n = -n, updated_at = now() WHERE id <= 30",
            "DELETE FROM ehb_test_count WHERE id > 290",
            "INSERT INTO ehb_test_count (id, n) SELECT g, g FROM generate_series(301, 320) g")
    res = ingest_table(con, database_url, table)
    assert (res.mode, res.rows_written, res.rows_deleted) == ("incremental", 50, 10)
    assert res.raw_rows == 310 == con.execute("SELECT count(*) FROM raw.ehb_test_count"
                                              ).fetchone()[0]
    assert_matches_source(con, database_url, table)
    rerun = ingest_table(con, database_url, table)
    assert (rerun.rows_written, rerun.raw_rows) == (0, 310)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE temporary").fetchone() == (0,)
    pg_exec(database_url, "DROP TABLE ehb_test_count")


def test_warehouse_without_a_kept_count_is_migrated(con, database_url):
    pg_exec(database_url, "DROP TABLE IF EXISTS ehb_test_legacy",
            "CREATE TABLE ehb_test_legacy (id bigint PRIMARY KEY, "
            "updated_at timestamptz NOT NULL DEFAULT now())",
            "INSERT INTO ehb_test_legacy (id) SELECT g FROM generate_series(1, 25) g")
    table = Table("ehb_test_legacy", "test")
    ingest_table(con, database_url, table)
    con.execute("ALTER TABLE ops.watermarks DROP COLUMN raw_rows")  # as written before the count
    pg_exec(database_url, "INSERT INTO ehb_test_legacy (id) VALUES (26)")
    res = ingest_table(con, database_url, table)
    assert (res.mode, res.rows_written, res.raw_rows) == ("incremental", 1, 26)
    assert con.execute("SELECT raw_rows FROM ops.watermarks WHERE table_name = ?",
                       [table.name]).fetchone() == (26,)
    pg_exec(database_url, "DROP TABLE ehb_test_legacy")
