"""Payments and refunds page: per-currency KPIs against the previous period computed from the
mart, the currency filter from the URL, clicking a currency, and staff-only data."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-11-01&end=2026-11-25"


def _cards(out) -> dict[str, tuple[str, str]]:
    return {c["props"]["children"][0]["props"]["children"]:
            (c["props"]["children"][1]["props"]["children"],
             c["props"]["children"][2]["props"]["children"]) for c in out["pay-kpis"]["children"]}


def _sums(snapshot_path, currency, start, end):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(
            "SELECT sum(purchase_captured), sum(refunded), sum(fees), sum(succeeded), "
            "sum(intents), sum(topup_captured) FROM marts.fct_payments_daily "
            "WHERE currency = ? AND payment_date BETWEEN ? AND ?",
            [currency, start, end]).fetchone()
    finally:
        con.close()


@pytest.mark.parametrize("roles", [["analyst"], ["support"], ["admin"]])
def test_kpis_for_the_largest_currency_against_the_previous_period(signed_in, snapshot_path,
                                                                    roles):
    client, _ = signed_in(roles)
    out = Callbacks(client).values("pay-kpis.children", {"url.search": SEARCH,
                                                         "pay-currency.data": None})
    gmv, refunded, fees, ok, intents, topups = _sums(snapshot_path, "EUR", "2026-11-01",
                                                     "2026-11-25")
    prev_gmv = _sums(snapshot_path, "EUR", "2026-10-07", "2026-10-31")[0]
    cards = _cards(out)
    assert cards["GMV (purchases captured)"][0] == f"{Decimal(gmv) / 100:,.2f} EUR"
    change = (gmv - prev_gmv) / prev_gmv * 100
    assert cards["GMV (purchases captured)"][1] == f"{change:+.1f}% vs previous"
    assert cards["Refunded"][0] == f"{Decimal(refunded) / 100:,.2f} EUR"
    assert cards["Fees (revenue)"][0] == f"{Decimal(fees) / 100:,.2f} EUR"
    assert cards["Success rate"][0] == f"{ok / intents:.1%}"
    assert cards["Refund rate"][0] == f"{refunded / (gmv + topups):.1%}"
    assert out["pay-selected"]["children"].startswith("Showing EUR (largest in period)")
    by_cur = out["pay-by-currency"]["figure"]["data"][0]
    assert by_cur["x"] == ["EUR", "USD", "GBP"]
    daily = out["pay-daily"]["figure"]["data"]
    assert len(daily[0]["x"]) == 25
    assert sum(Decimal(str(v)) for v in daily[0]["y"]) == Decimal(gmv) / 100


def test_currency_from_the_url_or_a_click_drives_the_other_charts(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    url = cb.values("pay-kpis.children", {"url.search": SEARCH + "&currency=GBP",
                                          "pay-currency.data": None})
    assert url["pay-selected"]["children"].startswith("Showing GBP (currency filter)")
    assert url["pay-by-currency"]["figure"]["data"][0]["x"] == ["GBP"]
    picked = cb.values("pay-currency.data", {"pay-by-currency.clickData": {
        "points": [{"x": "USD", "y": 1}]}})
    assert picked["pay-currency"]["data"] == "USD"
    clicked = cb.values("pay-kpis.children", {"url.search": SEARCH, "pay-currency.data": "USD"})
    assert "USD" in clicked["pay-daily"]["figure"]["layout"]["title"]["text"]
    gmv = _sums(snapshot_path, "USD", "2026-11-01", "2026-11-25")[0]
    assert _cards(clicked)["GMV (purchases captured)"][0] == f"{Decimal(gmv) / 100:,.2f} USD"
    colors = clicked["pay-by-currency"]["figure"]["data"][0]["marker"]["color"]
    assert colors == ["#1f77b4", "#d62728", "#1f77b4"]
    empty = cb.values("pay-kpis.children", {"url.search": "?start=2001-01-01&end=2001-01-31",
                                            "pay-currency.data": None})
    assert empty["pay-selected"]["children"] == "no payments in this period"


@pytest.mark.parametrize("roles", [["seller"], ["customer"], ["affiliate"], ["franchisee"]])
def test_other_roles_get_neither_the_page_nor_the_rows(signed_in, warehouse, roles):
    from dashboards.scope import scope_for

    client, user = signed_in(roles)
    out = Callbacks(client).values("pay-kpis.children", {"url.search": SEARCH,
                                                         "pay-currency.data": None})
    assert out["pay-selected"]["children"] == "this page is not open to your role"
    assert warehouse.run("SELECT count(*) FROM marts.fct_payments_daily", None,
                         scope_for(user.id, roles)).rows == [(0,)]


@pytest.mark.parametrize("amount, currency, shown", [
    (123456, "EUR", "1,234.56 EUR"), (123456, "JPY", "123,456 JPY"),
    (123456, "KWD", "123.456 KWD"), (-5, "USD", "-0.05 USD")])
def test_minor_units_are_shown_in_the_currency_exponent_exactly(amount, currency, shown):
    from dashboards import money

    assert money.fmt(currency).format(money.major(amount, currency)) == shown
    assert isinstance(money.major(amount, currency), Decimal)
