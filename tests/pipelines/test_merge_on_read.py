"""raw.<t> as a view over raw_base.<t> and raw_delta.<t>: incremental runs write only the delta
(one row per key: the newest version or a tombstone), the delta is folded into base past a
threshold, a column added at the source reaches both, and a warehouse of the older layout (raw
tables) is reloaded once."""

from __future__ import annotations

import duckdb
import pytest

from pipelines import ingest_delta
from pipelines.ingest import ingest_table
from pipelines.tables import Table
from tests.pipelines.conftest import assert_matches_source, pg_exec

TABLE = Table("ehb_test_mor", "test")


@pytest.fixture
def con(warehouse_dir, request):
    c = duckdb.connect(str(warehouse_dir / f"{request.node.name}.duckdb"))
    yield c
    c.close()


@pytest.fixture
def source(database_url):
    pg_exec(database_url, "DROP TABLE IF EXISTS ehb_test_mor",
            "CREATE TABLE ehb_test_mor (id bigint PRIMARY KEY, n int, "
            "updated_at timestamptz NOT NULL DEFAULT now())",
            "CREATE TRIGGER ehb_test_mor_deleted AFTER DELETE ON ehb_test_mor FOR EACH ROW "
            "EXECUTE FUNCTION ehb_record_delete('id')",
            "INSERT INTO ehb_test_mor (id, n) SELECT g, g FROM generate_series(1, 100) g")
    yield database_url
    pg_exec(database_url, "DROP TABLE ehb_test_mor")


def _layout(con) -> tuple[int, int, int, int]:
    """(base rows, delta rows, delta tombstones, delta keys held twice)."""
    return con.execute(
        "SELECT (SELECT count(*) FROM raw_base.ehb_test_mor), count(*), "
        "count(*) FILTER (_deleted), count(*) - count(DISTINCT id) FROM raw_delta.ehb_test_mor"
    ).fetchone()


def test_runs_write_the_delta_then_fold_it_into_base(con, source, monkeypatch):
    monkeypatch.setattr(ingest_delta, "COMPACT_MIN_ROWS", 0)
    monkeypatch.setattr(ingest_delta, "COMPACT_FRACTION", 0.25)
    assert ingest_table(con, source, TABLE).raw_rows == 100
    assert con.execute("SELECT table_type FROM information_schema.tables WHERE "
                       "table_schema = 'raw' AND table_name = 'ehb_test_mor'").fetchone() == ("VIEW",)

    # every row is inside the lookback window (loaded moments ago): unchanged ones are skipped
    pg_exec(source, "UPDATE ehb_test_mor SET n = -n, updated_at = now() WHERE id <= 10",
            "DELETE FROM ehb_test_mor WHERE id BETWEEN 91 AND 95")
    res = ingest_table(con, source, TABLE)
    assert (res.rows_written, res.rows_deleted, res.raw_rows, res.compacted) == (10, 5, 95, 0)
    assert _layout(con) == (100, 15, 5, 0)  # base untouched: 10 new versions, 5 tombstones
    assert_matches_source(con, source, TABLE)

    rerun = ingest_table(con, source, TABLE)
    assert (rerun.rows_written, rerun.rows_deleted, rerun.raw_rows) == (0, 0, 95)
    assert _layout(con) == (100, 15, 5, 0)

    # the same keys again (their delta rows are replaced), others for the first time, a
    # deleted key back (its tombstone is replaced), a column added at the source
    pg_exec(source, "ALTER TABLE ehb_test_mor ADD COLUMN note text",
            "UPDATE ehb_test_mor SET n = n * 100, note = 'again', updated_at = now() "
            "WHERE id <= 20",
            "INSERT INTO ehb_test_mor (id, n, note) VALUES (91, 9100, 'back')")
    res = ingest_table(con, source, TABLE)
    # 21 delta rows + 4 tombstones = 25 > 25% of 96 rows: folded into base in the same run
    assert (res.rows_written, res.raw_rows, res.compacted) == (21, 96, 25)
    assert _layout(con) == (96, 0, 0, 0)
    assert con.execute("SELECT note FROM raw_base.ehb_test_mor WHERE id = 91").fetchone() == ("back",)
    assert con.execute("SELECT rows_compacted FROM ops.ingest_log WHERE table_name = ? "
                       "ORDER BY finished_at DESC LIMIT 1", [TABLE.name]).fetchone() == (25,)
    assert_matches_source(con, source, TABLE)
    assert ingest_table(con, source, TABLE).rows_written == 0


def test_delta_below_the_threshold_is_kept(con, source):
    ingest_table(con, source, TABLE)
    pg_exec(source, "UPDATE ehb_test_mor SET n = 0, updated_at = now() WHERE id <= 50")
    res = ingest_table(con, source, TABLE)  # 50 rows: under COMPACT_MIN_ROWS
    assert (res.rows_written, res.compacted) == (50, 0)
    assert _layout(con) == (100, 50, 0, 0)
    folded = ingest_delta.compact(con, TABLE, res.raw_rows, force=True)
    assert folded == 50 and _layout(con) == (100, 0, 0, 0)
    assert_matches_source(con, source, TABLE)


def test_raw_table_of_the_older_layout_is_reloaded_once(con, source):
    ingest_table(con, source, TABLE)
    # as a warehouse written before merge on read: raw.<t> a table, no base or delta
    con.execute("CREATE TABLE raw.old AS SELECT * FROM raw.ehb_test_mor")
    con.execute("DROP VIEW raw.ehb_test_mor; DROP TABLE raw_base.ehb_test_mor; "
                "DROP TABLE raw_delta.ehb_test_mor; ALTER TABLE raw.old RENAME TO ehb_test_mor")
    pg_exec(source, "UPDATE ehb_test_mor SET n = 7, updated_at = now() WHERE id = 1")
    res = ingest_table(con, source, TABLE)
    assert (res.mode, res.raw_rows) == ("full", 100)
    assert con.execute("SELECT count(*) FROM duckdb_views() WHERE schema_name = 'raw' AND "
                       "view_name = 'ehb_test_mor'").fetchone() == (1,)
    assert_matches_source(con, source, TABLE)
    assert ingest_table(con, source, TABLE).mode == "incremental"
