"""Support page: KPIs against the previous period, charts over the URL's period, the clicked
day marked on the other charts, and staff-only data (scoped viewers get nothing)."""

from __future__ import annotations

import duckdb
import pytest

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-11-01&end=2026-11-25"
INPUTS = {"url.search": SEARCH, "sp-day.data": None}


def _cards(out) -> dict[str, str]:
    return {c["props"]["children"][0]["props"]["children"]:
            c["props"]["children"][1]["props"]["children"] for c in out["sp-kpis"]["children"]}


def _expected(snapshot_path, start, end):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(
            "SELECT sum(opened), sum(first_response_met), sum(first_response_breached), "
            "arg_max(backlog, day) FROM marts.fct_support_daily WHERE day BETWEEN ? AND ?",
            [start, end]).fetchone(), con.execute(
            "SELECT sum(csat * responses) / sum(responses), count(*) FROM marts.fct_csat_daily "
            "WHERE rating_date BETWEEN ? AND ?", [start, end]).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("roles", [["support"], ["analyst"], ["admin"]])
def test_staff_see_kpis_and_charts_computed_from_the_marts(signed_in, snapshot_path, roles):
    client, _ = signed_in(roles)
    out = Callbacks(client).values("sp-kpis.children", INPUTS)
    (opened, frm, frb, backlog), (csat, rated_days) = _expected(snapshot_path, "2026-11-01",
                                                                "2026-11-25")
    cards = _cards(out)
    assert cards["Tickets opened"] == f"{opened:,}"
    assert cards["Backlog at period end"] == f"{backlog:,}"
    assert cards["First response SLA"] == f"{frm / (frm + frb):.1%}"
    assert cards["CSAT (ratings 4-5)"] == f"{csat:.1%}"
    assert all("vs previous" in c["props"]["children"][2]["props"]["children"]
               for c in out["sp-kpis"]["children"])
    volume = out["sp-volume"]["figure"]["data"]
    assert len(volume[0]["x"]) == 25 and sum(volume[0]["y"]) == opened
    sla = out["sp-sla"]["figure"]["data"]
    assert all(v is None or 0 <= v <= 1 for t in sla for v in t["y"])
    assert len(out["sp-csat"]["figure"]["data"][1]["x"]) == rated_days


def test_url_period_narrows_every_chart(signed_in):
    client, _ = signed_in(["support"])
    cb = Callbacks(client)
    week = cb.values("sp-kpis.children", {"url.search": "?start=2026-11-19&end=2026-11-25",
                                          "sp-day.data": None})
    month = cb.values("sp-kpis.children", INPUTS)
    assert len(week["sp-volume"]["figure"]["data"][0]["x"]) == 7
    assert sum(week["sp-volume"]["figure"]["data"][0]["y"]) < sum(
        month["sp-volume"]["figure"]["data"][0]["y"])
    assert week["sp-sla"]["figure"]["data"][0]["x"][0] == "2026-11-19"


def test_clicking_a_day_marks_it_on_the_other_charts(signed_in):
    client, _ = signed_in(["support"])
    cb = Callbacks(client)
    picked = cb.values("sp-day.data", {"sp-volume.clickData": {
        "points": [{"x": "2026-11-20", "y": 3}]}})
    assert picked["sp-day"]["data"] == "2026-11-20"
    out = cb.values("sp-kpis.children", {"url.search": SEARCH, "sp-day.data": "2026-11-20"})
    for chart in ("sp-volume", "sp-sla", "sp-csat"):
        assert out[chart]["figure"]["layout"]["shapes"][0]["x0"] == "2026-11-20"
    assert out["sp-selected"]["children"].startswith("2026-11-20: ")
    plain = cb.values("sp-kpis.children", INPUTS)
    assert "shapes" not in plain["sp-sla"]["figure"]["layout"]


@pytest.mark.parametrize("roles", [["seller"], ["customer"], ["franchisee"], ["affiliate"]])
def test_other_roles_get_neither_the_page_nor_the_data(signed_in, warehouse, roles):
    from dashboards.scope import scope_for

    client, user = signed_in(roles)
    out = Callbacks(client).values("sp-kpis.children", INPUTS)
    assert out["sp-selected"]["children"] == "this page is not open to your role"
    assert out["sp-volume"]["figure"]["data"] == []
    routed = Callbacks(client).values("_pages_content.children", {
        "_pages_location.pathname": "/support", "_pages_location.search": ""})
    assert "not open to your role" in str(routed)
    # the query layer itself: the support marts are empty for a scoped viewer
    scope = scope_for(user.id, roles)
    for table in ("marts.fct_support_daily", "marts.fct_csat_daily"):
        assert warehouse.run(f"SELECT count(*) FROM {table}", None, scope).rows == [(0,)]
