"""Wallets and ledger page: float and held funds from the current balances, reconciliation,
ledger volume against the previous period, the kind drill-down into the accounts grid, and
row-level scope on the accounts mart."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-11-01&end=2026-11-25"


def _cards(out) -> dict[str, tuple[str, str]]:
    return {c["props"]["children"][0]["props"]["children"]:
            (c["props"]["children"][1]["props"]["children"],
             c["props"]["children"][2]["props"]["children"]) for c in out["wl-kpis"]["children"]}


def _one(snapshot_path, sql, params):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(sql, params).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("search, currency", [(SEARCH, "EUR"), (SEARCH + "&currency=usd", "USD")])
def test_balances_reconciliation_and_ledger_kpis(signed_in, snapshot_path, search, currency):
    client, _ = signed_in(["analyst"])
    out = Callbacks(client).values("wl-kpis.children", {"url.search": search})
    user_float, held, unrec = _one(snapshot_path, (
        "SELECT sum(balance) FILTER (WHERE kind = 'user'), sum(balance) FILTER (WHERE kind = "
        "'hold'), count(*) FILTER (WHERE NOT is_reconciled) FROM marts.wallet_balances "
        "WHERE currency = ?"), [currency])
    volume, prev = _one(snapshot_path, (
        "SELECT sum(volume) FILTER (WHERE ledger_date >= DATE '2026-11-01'), "
        "sum(volume) FILTER (WHERE ledger_date < DATE '2026-11-01') FROM marts.fct_ledger_daily "
        "WHERE currency = ? AND ledger_date BETWEEN DATE '2026-10-07' AND DATE '2026-11-25'"),
        [currency])
    cards = _cards(out)
    assert cards["Wallet float (user balances)"] == (
        f"{Decimal(user_float) / 100:,.2f} {currency}", "no previous period")
    assert cards["Held funds (hold accounts)"][0] == f"{Decimal(held) / 100:,.2f} {currency}"
    assert cards["Accounts not reconciled"][0] == f"{unrec:,}"
    assert cards["Ledger volume"] == (f"{Decimal(volume) / 100:,.2f} {currency}",
                                      f"{(volume - prev) / prev * 100:+.1f}% vs previous")
    assert cards["Unbalanced transactions (must be 0)"][0] == "0"
    assert out["wl-selected"]["children"].startswith(f"Showing {currency}")
    kinds = out["wl-kinds"]["figure"]["data"][0]
    assert set(kinds["x"]) == {"user", "hold", "vault", "system"}
    assert len(out["wl-daily"]["figure"]["data"][0]["x"]) == 25


def test_clicking_a_kind_filters_the_accounts_grid(signed_in):
    client, _ = signed_in(["support"])
    cb = Callbacks(client)
    model = cb.values("wl-grid.filterModel", {"wl-kinds.clickData": {
        "points": [{"x": "hold", "y": 1}]}})["wl-grid"]["filterModel"]
    page = cb.values("wl-grid.getRowsResponse", {"wl-grid.getRowsRequest": {
        "startRow": 0, "endRow": 100, "filterModel": model,
        "sortModel": [{"colId": "balance", "sort": "desc"}]}},
        {"url.search": "?currency=GBP"})["wl-grid"]["getRowsResponse"]
    assert page["rowCount"] > 0
    assert {(r["kind"], r["currency"]) for r in page["rowData"]} == {("hold", "GBP")}
    balances = [r["balance"] for r in page["rowData"]]
    assert balances == sorted(balances, reverse=True)


@pytest.mark.parametrize("roles", [["seller"], ["customer"], ["affiliate"]])
def test_scoped_viewers_are_refused_and_see_only_their_own_accounts(signed_in, warehouse,
                                                                     roles):
    from dashboards.scope import scope_for

    client, user = signed_in(roles)
    cb = Callbacks(client)
    out = cb.values("wl-kpis.children", {"url.search": SEARCH})
    assert out["wl-selected"]["children"] == "this page is not open to your role"
    grid = cb.values("wl-grid.getRowsResponse", {"wl-grid.getRowsRequest": {
        "startRow": 0, "endRow": 100}}, {"url.search": ""})
    assert grid["wl-grid"]["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    # in the query layer a user's rows are their own wallet accounts, nothing else
    rows = warehouse.run("SELECT DISTINCT user_id FROM marts.wallet_balances", None,
                         scope_for(user.id, roles)).rows
    assert rows == ([(user.id,)] if user.id <= 300 else [])
    assert warehouse.run("SELECT count(*) FROM marts.fct_ledger_daily", None,
                         scope_for(user.id, roles)).rows == [(0,)]
