"""Franchises page: territory revenue per month and per territory, settlements per month and
status, the territory URL filter, and a franchisee seeing only their own rows through the
warehouse scope."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-07-01&end=2026-11-25"


def _raw(snapshot_path, sql, params=()):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _major(values):
    return sum(Decimal(str(v)) for v in values)


def test_revenue_per_month_and_territory_and_settlements_for_staff(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    out = cb.values("fr-monthly.figure", {"url.search": SEARCH})
    monthly = {t["name"]: t for t in out["fr-monthly"]["figure"]["data"]}
    expected = _raw(snapshot_path, "SELECT revenue_month::VARCHAR, sum(gross_minor), "
                    "sum(share_minor) FROM marts.fct_territory_revenue_monthly "
                    "WHERE revenue_month BETWEEN '2026-07-01' AND '2026-11-25' "
                    "AND currency = 'EUR' GROUP BY 1 ORDER BY 1")
    assert monthly["gross"]["x"] == [r[0] for r in expected]
    assert [Decimal(str(v)) for v in monthly["gross"]["y"]] == [Decimal(r[1]) / 100
                                                                for r in expected]
    assert _major(monthly["franchise share"]["y"]) == sum(Decimal(r[2]) for r in expected) / 100
    assert len(out["fr-territories"]["figure"]["data"][0]["x"]) == 8
    settled = {t["name"]: t for t in out["fr-settlements"]["figure"]["data"]}
    posted = _raw(snapshot_path, "SELECT sum(share_minor) FROM marts.franchise_settlements "
                  "WHERE status = 'posted' AND period_start >= '2026-07-01'")[0][0]
    assert _major(settled["posted"]["y"]) == Decimal(posted) / 100
    assert len(settled["awaiting_ledger"]["x"]) == 1
    assert out["fr-selected"]["children"].startswith("Showing EUR (largest in period)")
    one = cb.values("fr-monthly.figure", {"url.search": SEARCH + "&territory=21"})
    gross = _raw(snapshot_path, "SELECT sum(gross_minor) FROM "
                 "marts.fct_territory_revenue_monthly WHERE territory_id = 21 "
                 "AND revenue_month >= '2026-07-01'")[0][0]
    assert one["fr-territories"]["figure"]["data"][0]["x"] == ["territory 21"]
    assert _major(one["fr-monthly"]["figure"]["data"][0]["y"]) == Decimal(gross) / 100
    empty = cb.values("fr-monthly.figure", {"url.search": "?start=2001-01-01&end=2001-01-31"})
    assert empty["fr-selected"]["children"] == "no territory revenue in this period"


def test_a_franchisee_sees_only_their_own_rows(signed_in, snapshot_path, warehouse):
    from dashboards.scope import scope_for

    # franchise 2 is owned by user 14 in the sample
    for name in ("marts.fct_territory_revenue_monthly", "marts.franchise_settlements"):
        assert warehouse.run(f"SELECT DISTINCT franchisee_user_id, franchise_id FROM {name}",
                             None, scope_for(14, ["franchisee"])).rows == [(14, 2)]
        assert warehouse.run(f"SELECT count(*) FROM {name}", None,
                             scope_for(14, ["seller", "affiliate"])).rows == [(0,)]
    client, user = signed_in(["franchisee"])
    out = Callbacks(client).values("fr-monthly.figure", {"url.search": SEARCH})
    own = _raw(snapshot_path, "SELECT DISTINCT territory_id FROM "
               "marts.fct_territory_revenue_monthly WHERE franchisee_user_id = ? ORDER BY 1",
               [user.id])
    if own:
        assert sorted(out["fr-territories"]["figure"]["data"][0]["x"]) == [
            f"territory {r[0]}" for r in own]
    else:
        assert out["fr-selected"]["children"] == "no territory revenue in this period"


@pytest.mark.parametrize("roles", [["customer"], ["seller"], ["affiliate"]])
def test_other_roles_get_neither_the_page_nor_the_rows(signed_in, warehouse, roles):
    from dashboards.scope import scope_for

    client, user = signed_in(roles)
    out = Callbacks(client).values("fr-monthly.figure", {"url.search": SEARCH})
    assert out["fr-selected"]["children"] == "this page is not open to your role"
    assert warehouse.run("SELECT count(*) FROM marts.franchise_settlements", None,
                         scope_for(user.id, roles)).rows == [(0,)]
