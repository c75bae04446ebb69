"""Quarantine release against the real PostgreSQL and a temporary DuckDB warehouse: a child row
ingested before its parent is quarantined and blocks its marts; once the parent arrives in a
later batch, the next validation of the child table re-checks the row and releases it (the
record stays, with its release time); a row still failing stays open."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.ingest import ingest_table
from pipelines.tables import BY_NAME
from pipelines.validate import open_quarantine, validate_batch
from pipelines.warehouse import Warehouse
from tests.pipelines.conftest import new_user, pg_exec

USERS, PREFS = BY_NAME["users"], BY_NAME["notification_preferences"]


@pytest.fixture(scope="module")
def warehouse(warehouse_dir, database_url):
    return Warehouse(warehouse_dir=str(warehouse_dir), database_url=database_url)


def _ingest_and_validate(wh: Warehouse, table, batch_id: str):
    with wh.connect() as con:
        res = ingest_table(con, wh.source_url(), table, batch_id=batch_id)
        if table is PREFS:
            return validate_batch(con, table, res.batch_id)
        return res


def _records(wh: Warehouse, *row_ids: int) -> dict[tuple[str, str], tuple]:
    """(row pk, expectation) -> (batch, released_at, reason, released by) of PREFS' records."""
    with wh.connect() as con:
        rows = con.execute(
            "SELECT row_pk, expectation, batch_id, released_at, release_reason, "
            "released_by_batch FROM ops.quarantine WHERE table_name = ? AND row_pk IN "
            f"({', '.join('?' * len(row_ids))})",
            [PREFS.name, *[str(i) for i in row_ids]]).fetchall()
    out = {}
    for pk, exp, *rest in rows:
        assert (pk, exp) not in out, f"recorded twice: {pk} {exp}"
        out[(pk, exp)] = tuple(rest)
    return out


def _pref(database_url: str, user_id: int, channel: str) -> int:
    return pg_exec(database_url, "INSERT INTO notification_preferences (user_id, channel, "
                                 f"category, enabled) VALUES ({user_id}, '{channel}', '*', true) "
                                 "RETURNING id")[0][0]


def test_child_released_when_its_parent_arrives_later(warehouse, database_url):
    wh = warehouse
    _ingest_and_validate(wh, USERS, "b0-users")
    assert _ingest_and_validate(wh, PREFS, "b0-prefs").open_quarantine == 0
    assert wh.blocked_tables() == []

    # parent and children commit; only the child table is ingested: the parent is missing
    a_user = new_user()
    a_row, x_row = _pref(database_url, a_user.id, "email"), _pref(database_url, a_user.id, "fax")
    rep = _ingest_and_validate(wh, PREFS, "b1-prefs")
    assert rep.quarantined == 3  # a: parent; x: parent and channel
    assert rep.open_quarantine == 2 and not rep.success
    assert wh.blocked_tables() == [PREFS.name]  # dbt gets --exclude source:ehb.<t>+
    parent = "parent(user_id -> users)"
    assert set(_records(wh, a_row, x_row)) == {
        (str(a_row), parent), (str(x_row), parent), (str(x_row), "in_set(channel)")}

    # another child of a parent not ingested yet: the re-check of a and x releases nothing
    b_user = new_user()
    b_row = _pref(database_url, b_user.id, "sms")
    rep = _ingest_and_validate(wh, PREFS, "b2-prefs")
    assert (rep.quarantined, rep.released, rep.requarantined) == (1, 0, 0)
    assert rep.open_quarantine == 3
    assert all(r[1] is None for r in _records(wh, a_row, x_row, b_row).values())

    # the parents arrive in a later batch of users; the next validation of the child table
    # (no new child rows) re-checks the open rows and releases what now passes
    _ingest_and_validate(wh, USERS, "b3-users")
    rep = _ingest_and_validate(wh, PREFS, "b3-prefs")
    assert rep.rows == 0 and rep.quarantined == 0
    assert rep.released == 3  # a's and b's parent records, x's parent record
    assert rep.open_quarantine == 1  # x still has a channel outside the set
    assert wh.blocked_tables() == [PREFS.name]
    recs = _records(wh, a_row, x_row, b_row)
    for key in ((str(a_row), parent), (str(b_row), parent), (str(x_row), parent)):
        _batch, released_at, reason, by = recs[key]
        assert released_at is not None and (reason, by) == ("passed", "b3-prefs"), key
    assert recs[(str(a_row), parent)][0] == "b1-prefs"  # history: the batch that failed
    assert recs[(str(b_row), parent)][0] == "b2-prefs"
    assert recs[(str(x_row), "in_set(channel)")][1:] == (None, None, None)

    # re-validating again changes nothing: no record released twice, none added
    rep = _ingest_and_validate(wh, PREFS, "b4-prefs")
    assert (rep.released, rep.quarantined, rep.requarantined, rep.open_quarantine) == (0, 0, 0, 1)
    assert _records(wh, a_row, x_row, b_row) == recs

    # x is corrected at the source: its new version passes, the old record is superseded
    pg_exec(database_url, f"UPDATE notification_preferences SET channel = 'push' WHERE id = {x_row}")
    rep = _ingest_and_validate(wh, PREFS, "b5-prefs")
    assert rep.rows == 1 and rep.quarantined == 0 and rep.superseded == 1
    assert rep.open_quarantine == 0 and rep.success
    assert wh.blocked_tables() == []
    recs = _records(wh, a_row, x_row, b_row)
    assert len(recs) == 4  # nothing deleted
    assert recs[(str(x_row), "in_set(channel)")][2:] == ("superseded", "b5-prefs")
    # what the dashboards read: open = not released, the same as open_quarantine
    with wh.connect() as con:
        assert con.execute("SELECT count(*) FROM ops.quarantine WHERE table_name = ? AND "
                           "released_at IS NULL", [PREFS.name]).fetchone() == (0,)
        assert open_quarantine(con, PREFS) == 0


def test_an_older_warehouse_gains_the_release_columns(tmp_path, database_url):
    """ops.quarantine as created before releases existed: the next ingestion migrates it and
    keeps its records; they are then released like any other."""
    wh = Warehouse(warehouse_dir=str(tmp_path), database_url=database_url)
    pk = str(_pref(database_url, new_user().id, "email"))
    with wh.connect() as con:
        ingest_table(con, database_url, USERS, batch_id="old-users")
        ingest_table(con, database_url, PREFS, batch_id="old-prefs")
        con.execute("DROP TABLE ops.quarantine")
        con.execute("CREATE TABLE ops.quarantine (batch_id VARCHAR, table_name VARCHAR, "
                    "row_pk VARCHAR, expectation VARCHAR, row_json VARCHAR, "
                    "quarantined_at TIMESTAMPTZ)")
        con.execute("INSERT INTO ops.quarantine VALUES ('old-prefs', ?, ?, 'parent(user_id -> "
                    "users)', '{}', now())", [PREFS.name, pk])
    with duckdb.connect(str(wh.build_file())) as con:  # the pre-release query still counts it
        assert "released_at" not in {r[0] for r in con.execute(
            "DESCRIBE ops.quarantine").fetchall()}
    rep = _ingest_and_validate(wh, PREFS, "new-prefs")
    assert rep.released == 1 and rep.open_quarantine == 0
    with wh.connect() as con:
        rows = con.execute("SELECT batch_id, release_reason, released_by_batch, "
                           "released_at IS NOT NULL FROM ops.quarantine").fetchall()
    assert rows == [("old-prefs", "passed", "new-prefs", True)]
