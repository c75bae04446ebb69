"""The query layer: read-only snapshot, reopen on change, SQL checks, row-level scope."""

from __future__ import annotations

import os
import shutil
from datetime import date

import duckdb
import pytest

from dashboards.scope import Scope, scope_for
from dashboards.warehouse import QueryRejected, SnapshotMissing, Warehouse, referenced_marts

ALL = Scope.everything()


def test_unrestricted_reads_every_contract_mart(warehouse):
    assert {"marts.dim_users", "marts.fct_signups_daily", "ops.quarantine"} <= warehouse.marts()
    assert warehouse.run("SELECT count(*) FROM marts.dim_users", None, ALL).rows == [(300,)]


@pytest.mark.parametrize("roles", [["seller"], ["affiliate", "customer"], ["customer"]])
def test_scoped_viewer_sees_only_their_own_rows(warehouse, roles):
    scope = scope_for(42, roles)
    rows = warehouse.run("SELECT user_id FROM marts.dim_users", None, scope).rows
    assert rows == [(42,)]
    # marts without a column tying rows to the viewer are empty for them (fail closed)
    assert warehouse.run("SELECT count(*) FROM marts.fct_signups_daily", None, scope).rows == [(0,)]
    # filters cannot widen the scope: asking for another user returns nothing
    other = warehouse.run("SELECT count(*) FROM marts.dim_users WHERE user_id = $u",
                          {"u": 7}, scope).rows
    assert other == [(0,)]


def test_franchisee_without_territories_sees_nothing(warehouse):
    scope = scope_for(42, ["franchisee"])
    assert scope.kinds()["territory"] == ()
    assert warehouse.run("SELECT count(*) FROM marts.security_throttles", None, scope).rows == [(0,)]


@pytest.mark.parametrize("roles", [["admin"], ["analyst"], ["support", "seller"]])
def test_staff_roles_are_unrestricted(roles):
    assert scope_for(1, roles).unrestricted


@pytest.mark.parametrize("sql, reason", [
    ("SELECT * FROM snap.marts.dim_users", "catalog-qualified"),
    ("SELECT * FROM read_csv('/etc/passwd')", "table functions"),
    ("DELETE FROM marts.dim_users", "single SELECT"),
    ("SELECT * FROM main.scope_ids", "unknown table"),
    ("SELECT * FROM dim_users", "unknown table"),
    ("SELECT 1; SELECT 2", "exactly one"),
    ("SELEC nonsense", "parse"),
])
def test_queries_outside_the_contract_are_rejected(sql, reason):
    with pytest.raises(QueryRejected, match=reason):
        referenced_marts(sql)


def test_ctes_and_joins_over_marts_are_allowed(warehouse):
    sql = ("WITH d AS (SELECT * FROM marts.dim_users) SELECT count(*) FROM d "
           "JOIN marts.fct_signups_daily s USING (signup_date)")
    assert referenced_marts(sql) == {"marts.dim_users", "marts.fct_signups_daily"}
    assert warehouse.run(sql, None, ALL).rows == [(300,)]


def test_files_cannot_be_read_even_through_scalar_paths(warehouse):
    with pytest.raises((duckdb.Error, QueryRejected)):
        warehouse.run("SELECT * FROM '/etc/passwd'", None, ALL)


def test_snapshot_is_opened_read_only(snapshot_path):
    con = duckdb.connect(":memory:")
    con.execute(f"ATTACH '{snapshot_path}' AS s (READ_ONLY)")
    with pytest.raises(duckdb.Error):
        con.execute("CREATE TABLE s.marts.x (i INT)")
    wh = Warehouse(snapshot_path)
    with pytest.raises(QueryRejected):
        wh.run("CREATE TABLE marts.x AS SELECT 1", None, ALL)


def test_reopens_when_the_published_file_is_replaced(tmp_path):
    from dashboards.sample import build_sample_snapshot

    path = build_sample_snapshot(tmp_path / "snapshot.duckdb", users=50, days=10,
                                 today=date(2026, 1, 10))
    wh = Warehouse(path)
    assert wh.run("SELECT count(*) FROM marts.dim_users", None, ALL).rows == [(50,)]
    build_sample_snapshot(path, users=80, days=10, today=date(2026, 1, 10))
    assert wh.run("SELECT count(*) FROM marts.dim_users", None, ALL).rows == [(80,)]


def test_missing_snapshot_is_reported(tmp_path):
    wh = Warehouse(tmp_path / "nothing.duckdb")
    assert not wh.available()
    with pytest.raises(SnapshotMissing):
        wh.run("SELECT 1 FROM marts.dim_users", None, ALL)


def test_snapshot_without_a_mart_says_which(tmp_path, snapshot_path):
    path = tmp_path / "partial.duckdb"
    shutil.copy(snapshot_path, path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE ops.quarantine")
    con.close()
    wh = Warehouse(path)
    assert "ops.quarantine" not in wh.marts()
    with pytest.raises(SnapshotMissing, match="ops.quarantine"):
        wh.run("SELECT count(*) FROM ops.quarantine", None, ALL)
    os.remove(path)


def test_contract_drift_is_reported(tmp_path, snapshot_path):
    path = tmp_path / "drift.duckdb"
    shutil.copy(snapshot_path, path)
    con = duckdb.connect(str(path))
    con.execute("ALTER TABLE marts.dim_users DROP COLUMN login_failures")
    con.close()
    wh = Warehouse(path)
    wh.marts()
    assert wh.contract_problems == ["marts.dim_users lacks login_failures"]
    good = Warehouse(snapshot_path)
    good.marts()
    assert good.contract_problems == []


def test_a_new_snapshot_drops_connections_of_every_scope(tmp_path):
    from dashboards.sample import build_sample_snapshot

    path = build_sample_snapshot(tmp_path / "it's here" / "snapshot.duckdb", users=20, days=5,
                                 today=date(2026, 1, 10))
    wh = Warehouse(path)
    for uid in (1, 2, 3):
        wh.run("SELECT count(*) FROM marts.dim_users", None, scope_for(uid, ["seller"]))
    assert len(wh._cache) == 3
    build_sample_snapshot(path, users=30, days=5, today=date(2026, 1, 10))
    assert wh.run("SELECT count(*) FROM marts.dim_users", None, ALL).rows == [(30,)]
    assert len(wh._cache) == 1
