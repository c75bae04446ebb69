"""The warehouse SQL gate resolves CTE names by scope, as DuckDB binds them: a CTE defined in
one subquery does not cover the same name elsewhere, so an analyst's report cannot read the
catalog (`duckdb_databases` shows the snapshot's path, `SHOW ALL TABLES` every table) through
a same-named CTE."""

from __future__ import annotations

import duckdb
import pytest
from sqlalchemy import func, select

from api.reports.models import ReportDefinition
from dashboards.warehouse import QueryRejected, analyze

BASE = "/api/v1/reports"
FAKE = "SELECT 'cte' AS database_name, 'cte' AS path"

# Each reads the real catalog view: the CTE of the same name is not in scope where it is used.
ATTACKS = [
    f"WITH x AS (WITH duckdb_databases AS ({FAKE}) SELECT 1) "
    "SELECT database_name, path FROM duckdb_databases",
    f"SELECT database_name, path FROM (WITH duckdb_databases AS ({FAKE}) SELECT 1) x, "
    "duckdb_databases",
    f"WITH a AS (SELECT database_name, path FROM duckdb_databases), duckdb_databases AS ({FAKE}) "
    "SELECT * FROM a",
    "WITH duckdb_databases AS (SELECT database_name, path FROM duckdb_databases) "
    "SELECT * FROM duckdb_databases",
    "WITH RECURSIVE duckdb_databases AS (SELECT database_name, path FROM duckdb_databases) "
    "SELECT * FROM duckdb_databases",
    "WITH RECURSIVE duckdb_databases AS (SELECT database_name, path FROM duckdb_databases "
    "UNION ALL SELECT 'cte', 'cte' WHERE false) SELECT * FROM duckdb_databases",
    "SELECT database_name, path FROM duckdb_databases UNION ALL "
    f"(WITH duckdb_databases AS ({FAKE}) SELECT * FROM duckdb_databases)",
    f"SELECT (WITH duckdb_databases AS ({FAKE}) SELECT 1) AS one, database_name, path "
    "FROM duckdb_databases",
    f"WITH \"duc\u212adb_databases\" AS ({FAKE}) SELECT database_name, path FROM duckdb_databases",
]
# The same name where the CTE is in scope: DuckDB reads the CTE, and the gate lets it through.
IN_SCOPE = [
    f"WITH duckdb_databases AS ({FAKE}) SELECT database_name, path FROM duckdb_databases",
    f"WITH duckdb_databases AS ({FAKE}) SELECT * FROM (SELECT * FROM duckdb_databases)",
    f"WITH duckdb_databases AS ({FAKE}), b AS (SELECT * FROM duckdb_databases) SELECT * FROM b",
    f"WITH \"DuckDB_Databases\" AS ({FAKE}) SELECT database_name, path FROM duckdb_databases",
    f"WITH duckdb_databases AS ({FAKE}) SELECT * FROM duckdb_databases UNION ALL "
    "SELECT * FROM duckdb_databases",
    f"WITH RECURSIVE duckdb_databases AS ({FAKE} UNION ALL SELECT database_name, path "
    "FROM duckdb_databases WHERE false) SELECT * FROM duckdb_databases",
]


def _reads_catalog(sql: str) -> bool:
    rows = duckdb.connect(":memory:").execute(sql).fetchall()
    return any(value != "cte" for row in rows for value in row if value != 1)


@pytest.mark.parametrize("sql", ATTACKS + IN_SCOPE)
def test_the_gate_lets_through_exactly_what_duckdb_binds_to_a_cte(sql):
    """Differential: DuckDB itself runs each query on an empty database; the gate refuses
    every query that reads the real catalog view and accepts those that read the CTE."""
    reads_catalog = _reads_catalog(sql)
    assert reads_catalog == (sql in ATTACKS)
    if reads_catalog:
        with pytest.raises(QueryRejected, match="unknown table 'duckdb_databases'"):
            analyze(sql)
    else:
        assert analyze(sql) == (set(), set())


@pytest.mark.parametrize("sql", ["SHOW ALL TABLES", "SELECT * FROM (SHOW ALL TABLES)",
                                 "DESCRIBE SELECT 1", "SUMMARIZE SELECT * FROM marts.dim_users"])
def test_show_describe_summarize_are_refused(sql):
    with pytest.raises(QueryRejected, match="SHOW, DESCRIBE and SUMMARIZE are not allowed"):
        analyze(sql)


@pytest.mark.parametrize("sql", [ATTACKS[0], ATTACKS[3], "SELECT * FROM (SHOW ALL TABLES)"])
def test_report_reading_the_catalog_is_refused_and_nothing_stored(client, db, analyst, sql):
    count = lambda: db.scalar(select(func.count()).select_from(ReportDefinition))  # noqa: E731
    before = count()
    resp = client.post(BASE, headers=analyst[1], json={"name": "catalog peek", "sql": sql})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == "invalid_report_sql"
    db.expire_all()
    assert count() == before


def test_a_report_with_ctes_in_scope_still_runs(client, analyst):
    sql = ("WITH r AS (SELECT primary_role, user_id FROM marts.dim_users), "
           "n AS (SELECT primary_role, count(*) AS users FROM r GROUP BY 1) "
           "SELECT sum(users) AS users FROM n WHERE primary_role IN "
           "(WITH x AS (SELECT DISTINCT primary_role FROM r) SELECT * FROM x)")
    resp = client.post(BASE, headers=analyst[1], json={"name": "in-scope ctes", "sql": sql})
    assert resp.status_code == 201, resp.text
    run = client.post(f"{BASE}/{resp.json()['id']}/run", headers=analyst[1], json={})
    assert run.status_code == 200 and run.json()["rows"] == [[300]]
