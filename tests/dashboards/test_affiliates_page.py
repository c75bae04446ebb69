"""Affiliates page: commissions per status against the previous period and per day from the
commissions mart, conversions per affiliate, the currency URL filter, and an affiliate seeing
only their own rows through the warehouse scope."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-11-01&end=2026-11-25"


def _cards(out) -> dict[str, tuple[str, str]]:
    return {c["props"]["children"][0]["props"]["children"]:
            (c["props"]["children"][1]["props"]["children"],
             c["props"]["children"][2]["props"]["children"]) for c in out["aff-kpis"]["children"]}


def _raw(snapshot_path, sql, params=()):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


def _commission(snapshot_path, status, start, end, extra="", params=()):
    return _raw(snapshot_path, "SELECT coalesce(sum(commission_minor), 0) FROM "
                "marts.fct_affiliate_commissions_daily WHERE currency = 'EUR' AND status = ? "
                f"AND commission_date BETWEEN ? AND ? {extra}",
                [status, start, end, *params])[0][0]


def test_commissions_by_status_and_day_and_conversions_for_staff(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    out = Callbacks(client).values("aff-kpis.children", {"url.search": SEARCH})
    cards = _cards(out)
    for status in ("pending", "approved", "reversed", "paid"):
        cur = _commission(snapshot_path, status, "2026-11-01", "2026-11-25")
        prev = _commission(snapshot_path, status, "2026-10-07", "2026-10-31")
        assert cards[f"Commissions {status}"] == (
            f"{Decimal(cur) / 100:,.2f} EUR", f"{(cur - prev) / prev * 100:+.1f}% vs previous")
    daily = {t["name"]: t for t in out["aff-daily"]["figure"]["data"]}
    assert set(daily) == {"pending", "approved", "reversed", "paid"}
    paid = _commission(snapshot_path, "paid", "2026-11-01", "2026-11-25")
    assert sum(Decimal(str(v)) for v in daily["paid"]["y"]) == Decimal(paid) / 100
    assert all("2026-11-01" <= d <= "2026-11-25" for d in daily["paid"]["x"])
    conv = out["aff-conversions"]["figure"]["data"]
    expected = _raw(snapshot_path, "SELECT affiliate_id, referrals, converted_referrals FROM "
                    "marts.affiliate_conversions ORDER BY referrals DESC, affiliate_id")
    assert conv[0]["x"] == [f"affiliate {r[0]}" for r in expected]
    assert conv[0]["y"] == [r[1] for r in expected]
    assert conv[1]["y"] == [r[2] for r in expected]
    assert out["aff-selected"]["children"].startswith("Showing EUR (largest in period)")
    usd = Callbacks(client).values("aff-kpis.children", {"url.search": SEARCH + "&currency=USD"})
    assert usd["aff-selected"]["children"] == "no affiliate commissions in this period"


def test_an_affiliate_sees_only_their_own_rows(signed_in, snapshot_path, warehouse):
    from dashboards.scope import scope_for

    # affiliate 2 is user 13 in the sample
    for name in ("marts.fct_affiliate_commissions_daily", "marts.affiliate_conversions"):
        assert warehouse.run(f"SELECT DISTINCT affiliate_user_id, affiliate_id FROM {name}",
                             None, scope_for(13, ["affiliate"])).rows == [(13, 2)]
        assert warehouse.run(f"SELECT count(*) FROM {name}", None,
                             scope_for(13, ["seller"])).rows == [(0,)]
    client, user = signed_in(["affiliate"])
    out = Callbacks(client).values("aff-kpis.children", {"url.search": SEARCH})
    own = _raw(snapshot_path, "SELECT affiliate_id FROM marts.affiliate_conversions "
               "WHERE affiliate_user_id = ?", [user.id])
    if own:
        paid = _commission(snapshot_path, "paid", "2026-11-01", "2026-11-25",
                           "AND affiliate_user_id = ?", [user.id])
        assert _cards(out)["Commissions paid"][0] == f"{Decimal(paid) / 100:,.2f} EUR"
        assert out["aff-conversions"]["figure"]["data"][0]["x"] == [f"affiliate {own[0][0]}"]
    else:
        assert out["aff-selected"]["children"] == "no affiliate commissions in this period"


@pytest.mark.parametrize("roles", [["customer"], ["seller"], ["franchisee"]])
def test_other_roles_get_neither_the_page_nor_the_rows(signed_in, warehouse, roles):
    from dashboards.scope import scope_for

    client, user = signed_in(roles)
    out = Callbacks(client).values("aff-kpis.children", {"url.search": SEARCH})
    assert out["aff-selected"]["children"] == "this page is not open to your role"
    assert warehouse.run("SELECT count(*) FROM marts.fct_affiliate_commissions_daily", None,
                         scope_for(user.id, roles)).rows == [(0,)]
