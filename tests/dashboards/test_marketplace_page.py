"""Marketplace page: GMV / fees / order KPIs against the previous period from the orders mart,
the lifetime funnel and top sellers from seller_performance, the seller filter (click or URL),
and a seller seeing only their own rows through the warehouse scope."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-11-01&end=2026-11-25"
INPUTS = {"url.search": SEARCH, "mkt-seller.data": None}


def _cards(out) -> dict[str, tuple[str, str]]:
    return {c["props"]["children"][0]["props"]["children"]:
            (c["props"]["children"][1]["props"]["children"],
             c["props"]["children"][2]["props"]["children"]) for c in out["mkt-kpis"]["children"]}


def _raw(snapshot_path, sql, params=()):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _orders(snapshot_path, currency, start, end, extra="", params=()):
    return _raw(snapshot_path, "SELECT sum(gmv_minor), sum(platform_fees_minor), "
                "sum(orders_placed), sum(orders_returned) FROM marts.fct_orders_daily "
                f"WHERE currency = ? AND order_date BETWEEN ? AND ? {extra}",
                [currency, start, end, *params])[0]


@pytest.mark.parametrize("roles", [["analyst"], ["admin"]])
def test_kpis_funnel_and_top_sellers_for_staff(signed_in, snapshot_path, roles):
    client, _ = signed_in(roles)
    out = Callbacks(client).values("mkt-kpis.children", INPUTS)
    gmv, fees, placed, returned = _orders(snapshot_path, "EUR", "2026-11-01", "2026-11-25")
    prev_gmv = _orders(snapshot_path, "EUR", "2026-10-07", "2026-10-31")[0]
    cards = _cards(out)
    assert cards["GMV (orders paid)"][0] == f"{Decimal(gmv) / 100:,.2f} EUR"
    assert cards["GMV (orders paid)"][1] == f"{(gmv - prev_gmv) / prev_gmv * 100:+.1f}% vs previous"
    assert cards["Platform fees"][0] == f"{Decimal(fees) / 100:,.2f} EUR"
    assert cards["Orders placed"][0] == f"{placed:,}"
    assert cards["Orders returned"][0] == f"{returned:,}"
    assert out["mkt-selected"]["children"].startswith("Showing EUR (largest in period)")
    money_fig = out["mkt-money"]["figure"]["data"]
    assert len(money_fig[0]["x"]) == 25
    assert sum(Decimal(str(v)) for v in money_fig[0]["y"]) == Decimal(gmv) / 100
    funnel = out["mkt-funnel"]["figure"]["data"][0]
    assert funnel["x"] == ["placed", "paid", "delivered", "canceled", "returned"]
    assert funnel["y"] == list(_raw(snapshot_path, (
        "SELECT sum(orders_placed), sum(orders_paid), sum(orders_delivered), "
        "sum(orders_canceled), sum(orders_returned) FROM marts.seller_performance "
        "WHERE currency = 'EUR'"))[0])
    top = out["mkt-top-sellers"]["figure"]["data"][0]
    expected = _raw(snapshot_path, "SELECT seller_id, shop_name FROM marts.seller_performance "
                    "WHERE currency = 'EUR' ORDER BY gmv_minor DESC, seller_id LIMIT 10")
    assert top["customdata"] == [r[0] for r in expected]
    assert top["x"] == [r[1] for r in expected]


def test_clicking_a_seller_or_the_url_filter_narrows_the_page(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    picked = cb.values("mkt-seller.data", {"mkt-top-sellers.clickData": {
        "points": [{"x": "Shop 3", "y": 1, "customdata": 3}]}})
    assert picked["mkt-seller"]["data"] == 3
    gmv = _orders(snapshot_path, "EUR", "2026-11-01", "2026-11-25", "AND seller_id = ?", [3])[0]
    clicked = cb.values("mkt-kpis.children", {"url.search": SEARCH, "mkt-seller.data": 3})
    by_url = cb.values("mkt-kpis.children", {"url.search": SEARCH + "&seller=3",
                                             "mkt-seller.data": None})
    for out in (clicked, by_url):
        assert _cards(out)["GMV (orders paid)"][0] == f"{Decimal(gmv) / 100:,.2f} EUR"
        assert out["mkt-selected"]["children"].endswith("; seller 3")
        top = out["mkt-top-sellers"]["figure"]["data"][0]
        assert len(top["x"]) == 10  # the ranking still shows every seller, the pick in red
        colors = top["marker"]["color"]
        assert colors[top["customdata"].index(3)] == "#d62728"
        assert colors.count("#d62728") == 1
    usd = cb.values("mkt-kpis.children", {"url.search": SEARCH + "&currency=USD",
                                          "mkt-seller.data": None})
    usd_gmv = _orders(snapshot_path, "USD", "2026-11-01", "2026-11-25")[0]
    assert _cards(usd)["GMV (orders paid)"][0] == f"{Decimal(usd_gmv) / 100:,.2f} USD"
    assert usd["mkt-selected"]["children"].startswith("Showing USD (currency filter)")
    empty = cb.values("mkt-kpis.children", {"url.search": "?start=2001-01-01&end=2001-01-31",
                                            "mkt-seller.data": None})
    assert empty["mkt-selected"]["children"] == "no marketplace orders in this period"


def test_a_seller_sees_only_their_own_rows(signed_in, snapshot_path, warehouse):
    from dashboards.scope import scope_for

    # the warehouse scope itself, for a seller user the sample has (seller 2 is user 12)
    for name in ("marts.fct_orders_daily", "marts.seller_performance"):
        own = warehouse.run(f"SELECT DISTINCT seller_user_id, seller_id FROM {name}", None,
                            scope_for(12, ["seller"])).rows
        assert own == [(12, 2)]
        assert warehouse.run(f"SELECT count(*) FROM {name}", None,
                             scope_for(13, ["customer"])).rows == [(0,)]
    # and through the page, for the signed-in seller (whose id may or may not own a shop)
    client, user = signed_in(["seller"])
    out = Callbacks(client).values("mkt-kpis.children", INPUTS)
    own = _raw(snapshot_path, "SELECT seller_id, shop_name FROM marts.seller_performance "
               "WHERE seller_user_id = ? AND currency = 'EUR' ORDER BY gmv_minor DESC",
               [user.id])
    if own:
        gmv = _orders(snapshot_path, "EUR", "2026-11-01", "2026-11-25",
                      "AND seller_user_id = ?", [user.id])[0]
        assert _cards(out)["GMV (orders paid)"][0] == f"{Decimal(gmv) / 100:,.2f} EUR"
        assert out["mkt-top-sellers"]["figure"]["data"][0]["x"] == [r[1] for r in own]
    else:
        assert out["mkt-selected"]["children"] == "no marketplace orders in this period"


@pytest.mark.parametrize("roles", [["customer"], ["affiliate"], ["franchisee"]])
def test_other_roles_get_neither_the_page_nor_the_rows(signed_in, warehouse, roles):
    from dashboards.scope import scope_for

    client, user = signed_in(roles)
    out = Callbacks(client).values("mkt-kpis.children", INPUTS)
    assert out["mkt-selected"]["children"] == "this page is not open to your role"
    assert warehouse.run("SELECT count(*) FROM marts.fct_orders_daily", None,
                         scope_for(user.id, roles)).rows == [(0,)]
