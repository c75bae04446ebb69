"""Wallets (held and blocked transfers) and Security (fraud decisions, case queue and grid):
figures carry the snapshot's numbers, the global filters apply, drill-downs page on the server,
and the rows are scoped (a seller or franchisee sees nobody else's holds)."""

from __future__ import annotations

import duckdb
import pytest

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-11-01&end=2026-11-25"


def _sql(snapshot_path, sql, params=()):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _cards(children) -> dict[str, str]:
    return {c["props"]["children"][0]["props"]["children"]:
            c["props"]["children"][1]["props"]["children"] for c in children}


def test_wallets_show_held_and_blocked_transfers(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    out = Callbacks(client).values("wl-holds.figure", {"url.search": SEARCH + "&currency=EUR"})
    fig = out["wl-holds"]["figure"]
    expected = dict(_sql(snapshot_path, """
        SELECT hold_kind, sum(amount_minor) FROM marts.fraud_holds WHERE currency = 'EUR'
        AND decision_date BETWEEN DATE '2026-11-01' AND DATE '2026-11-25' GROUP BY 1"""))
    got = {t["customdata"][0]: round(sum(t["y"]) * 100) for t in fig["data"] if t["y"]}
    assert got == {k: int(v) for k, v in expected.items()} and len(got) == 3
    open_now = _sql(snapshot_path, "SELECT count(*) FROM marts.fraud_holds WHERE is_open "
                                   "AND currency = 'EUR'")[0][0]
    cards = _cards(out["wl-hold-kpis"]["children"])
    assert open_now > 0 and cards["Transfers held now"] == f"{open_now:,}"


def test_clicking_a_hold_kind_filters_the_paged_grid(signed_in, snapshot_path):
    client, _ = signed_in(["support"])
    cb = Callbacks(client)
    model = cb.values("wl-holds-grid.filterModel", {"wl-holds.clickData": {
        "points": [{"x": "2026-11-20", "y": 1, "customdata": "blocked"}]}}
    )["wl-holds-grid"]["filterModel"]
    req = {"startRow": 100, "endRow": 200, "filterModel": model,
           "sortModel": [{"colId": "amount_minor", "sort": "desc"}]}
    page = cb.values("wl-holds-grid.getRowsResponse", {"wl-holds-grid.getRowsRequest": req},
                     {"url.search": SEARCH})["wl-holds-grid"]["getRowsResponse"]
    total = _sql(snapshot_path, "SELECT count(*) FROM marts.fraud_holds WHERE hold_kind = "
                                "'blocked' AND decision_date BETWEEN DATE '2026-11-01' AND "
                                "DATE '2026-11-25'")[0][0]
    assert page["rowCount"] == total > 100  # the count of all rows, one page of them
    assert 0 < len(page["rowData"]) <= 100
    assert {r["hold_kind"] for r in page["rowData"]} == {"blocked"}
    amounts = [r["amount_minor"] for r in page["rowData"]]
    assert amounts == sorted(amounts, reverse=True)


def test_security_shows_fraud_decisions_over_time_and_the_case_queue(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    out = Callbacks(client).values("sec-fraud-daily.figure", {"url.search": SEARCH})
    per_verdict = dict(_sql(snapshot_path, """
        SELECT verdict, sum(decisions) FROM marts.fct_fraud_decisions_daily
        WHERE decision_date BETWEEN DATE '2026-11-01' AND DATE '2026-11-25' GROUP BY 1"""))
    daily = {t["name"]: sum(t["y"]) for t in out["sec-fraud-daily"]["figure"]["data"]}
    assert daily == {k: int(v) for k, v in per_verdict.items()}
    days = _sql(snapshot_path, "SELECT count(DISTINCT decision_date) FROM "
                               "marts.fct_fraud_decisions_daily WHERE verdict = 'pass' AND "
                               "decision_date BETWEEN DATE '2026-11-01' AND DATE '2026-11-25'")
    assert len(out["sec-fraud-daily"]["figure"]["data"][0]["x"]) == days[0][0] >= 24
    rules = out["sec-fraud-rules"]["figure"]["data"]
    assert "none" not in {y for t in rules for y in t["y"]} and sum(sum(t["x"]) for t in rules)
    open_cases = _sql(snapshot_path, "SELECT count(*) FROM marts.fraud_holds WHERE "
                                     "hold_kind = 'fraud_review' AND is_open")[0][0]
    assert sum(out["sec-case-age"]["figure"]["data"][0]["y"]) == open_cases > 0
    status = out["sec-case-status"]["figure"]["data"][0]
    assert set(status["x"]) == {"open", "approved", "rejected"}
    cards = _cards(out["sec-fraud-kpis"]["children"])
    assert cards["Open fraud cases (now)"] == f"{open_cases:,}"
    assert cards["Blocked"] == f"{int(per_verdict['block']):,}"


def test_currency_filter_narrows_fraud_decisions(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    out = Callbacks(client).values("sec-fraud-daily.figure",
                                   {"url.search": SEARCH + "&currency=USD"})
    usd = _sql(snapshot_path, "SELECT sum(decisions) FROM marts.fct_fraud_decisions_daily "
                              "WHERE currency = 'USD' AND decision_date BETWEEN "
                              "DATE '2026-11-01' AND DATE '2026-11-25'")[0][0]
    assert sum(sum(t["y"]) for t in out["sec-fraud-daily"]["figure"]["data"]) == usd > 0


def test_case_grid_shows_only_fraud_review_cases_filtered_by_clicked_status(signed_in):
    client, _ = signed_in(["support"])
    cb = Callbacks(client)
    model = cb.values("sec-cases-grid.filterModel", {"sec-case-status.clickData": {
        "points": [{"x": "rejected", "y": 3}]}})["sec-cases-grid"]["filterModel"]
    page = cb.values("sec-cases-grid.getRowsResponse", {"sec-cases-grid.getRowsRequest": {
        "startRow": 0, "endRow": 50, "filterModel": model}},
        {"url.search": SEARCH, "sec-cases-only.data": {"hold_kind": "fraud_review"}}
    )["sec-cases-grid"]["getRowsResponse"]
    assert page["rowCount"] > 0
    assert {(r["hold_kind"], r["status"], r["reviewer_outcome"]) for r in page["rowData"]} == {
        ("fraud_review", "rejected", "refused")}


@pytest.mark.parametrize("roles", [["seller"], ["franchisee"], ["customer"]])
def test_scoped_viewers_see_no_one_elses_holds_or_decisions(signed_in, warehouse,
                                                            snapshot_path, roles):
    from dashboards.scope import scope_for

    client, _ = signed_in(roles)
    cb = Callbacks(client)
    out = cb.values("sec-fraud-daily.figure", {"url.search": SEARCH})
    assert out["sec-fraud-daily"]["figure"]["data"] == []  # the page refuses the role
    grid = cb.values("wl-holds-grid.getRowsResponse", {"wl-holds-grid.getRowsRequest": {
        "startRow": 0, "endRow": 100}}, {"url.search": ""})
    assert grid["wl-holds-grid"]["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    # in the query layer: a user holding transfers sees exactly their own, nothing else
    holder, theirs = _sql(snapshot_path, "SELECT user_id, count(*) FROM marts.fraud_holds "
                                         "GROUP BY 1 ORDER BY 2 DESC LIMIT 1")[0]
    scope = scope_for(holder, roles)
    rows = warehouse.run("SELECT user_id, count(*) FROM marts.fraud_holds GROUP BY 1",
                         None, scope).rows
    assert rows == [(holder, theirs)]
    assert warehouse.run("SELECT count(*) FROM marts.fct_fraud_decisions_daily", None,
                         scope).rows == [(0,)]
