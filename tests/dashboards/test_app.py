"""The Dash app over HTTP: sign-in through the API, the session cookie, pages by role, and the
callbacks returning scoped data."""

from __future__ import annotations

import pytest

from dashboards.callbacks import Callbacks
from tests.dashboards.conftest import layout_nodes, post_login, sign_out

SEARCH = "?start=2026-10-27&end=2026-11-25"


def test_pages_redirect_to_sign_in_and_callbacks_refuse_without_session(dash_app):
    client = dash_app.server.test_client()
    resp = client.get("/security?start=2026-01-01")
    assert resp.status_code == 302
    assert resp.headers["Location"].startswith("/login?next=/security")
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/_dash-layout").status_code == 401
    assert client.get("/login").status_code == 200


def test_wrong_password_is_refused_and_sets_no_session(dash_app, make_user):
    user, _ = make_user(roles=["analyst"])
    client = dash_app.server.test_client()
    resp = post_login(client, {"email": user.email, "password": "not the password"})
    assert resp.status_code == 401
    assert b"login-error" in resp.data
    assert client.get("/").status_code == 302


def test_sign_in_keeps_a_signed_cookie_and_redirects_locally_only(dash_app, make_user):
    user, password = make_user(roles=["analyst"])
    client = dash_app.server.test_client()
    resp = post_login(client, {"email": user.email, "password": password,
                                       "next": "https://evil.example/"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"
    cookie = client.get_cookie("ehb_dash")
    assert cookie is not None and cookie.http_only
    assert client.get("/security").status_code == 200
    # a tampered cookie is not a session
    other = dash_app.server.test_client()
    other.set_cookie("ehb_dash", cookie.value[:-4] + "AAAA")
    assert other.get("/").status_code == 302
    resp = sign_out(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def _nav(client) -> set[str]:
    layout = client.get("/_dash-layout").json
    return {props["href"] for kind, props in layout_nodes(layout) if kind == "Link"}


def test_navigation_follows_roles(signed_in):
    admin, _ = signed_in(["admin"])
    assert {"/", "/users", "/payments", "/wallets", "/security", "/support", "/data-quality", "/monitoring", "/admin/users",
            "/settings", "/marketplace", "/affiliates", "/franchises"} <= _nav(admin)
    seller, _ = signed_in(["seller"])
    assert _nav(seller) == {"/", "/saved", "/reports", "/settings", "/marketplace"}
    affiliate, _ = signed_in(["affiliate"])
    assert _nav(affiliate) == {"/", "/saved", "/reports", "/settings", "/affiliates"}
    franchisee, _ = signed_in(["franchisee"])
    assert _nav(franchisee) == {"/", "/saved", "/reports", "/settings", "/franchises"}


def test_overview_kpis_compare_with_previous_period(signed_in):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    out = cb.values("ov-kpis.children", {"ov-tick.n_intervals": 1, "url.search": SEARCH})
    cards = out["ov-kpis"]["children"]
    labels = [c["props"]["children"][0]["props"]["children"] for c in cards]
    assert labels[0] == "New users" and "Lockouts" in labels
    values = [c["props"]["children"][1]["props"]["children"] for c in cards]
    assert values[0] != "n/a" and int(values[0].replace(",", "")) > 0
    assert "vs previous" in cards[0]["props"]["children"][2]["props"]["children"]
    fig = out["ov-signups"]["figure"]
    assert len(fig["data"][0]["x"]) == 30  # one bar per day of the period


def test_overview_money_kpis_in_one_currency(signed_in, snapshot_path):
    from decimal import Decimal

    import duckdb

    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        gmv, prev, fees = con.execute(
            "SELECT sum(purchase_captured) FILTER (WHERE payment_date >= DATE '2026-10-27'), "
            "sum(purchase_captured) FILTER (WHERE payment_date < DATE '2026-10-27'), "
            "sum(fees) FILTER (WHERE payment_date >= DATE '2026-10-27') "
            "FROM marts.fct_payments_daily WHERE currency = 'GBP' "
            "AND payment_date BETWEEN DATE '2026-09-27' AND DATE '2026-11-25'").fetchone()
        float_ = con.execute("SELECT sum(balance) FROM marts.wallet_balances "
                             "WHERE kind = 'user' AND currency = 'GBP'").fetchone()[0]
    finally:
        con.close()
    out = cb.values("ov-kpis.children", {"ov-tick.n_intervals": 1,
                                         "url.search": SEARCH + "&currency=GBP"})
    cards = {c["props"]["children"][0]["props"]["children"]:
             [c["props"]["children"][i]["props"]["children"] for i in (1, 2)]
             for c in out["ov-kpis"]["children"]}
    assert cards["GMV (GBP)"] == [f"{Decimal(gmv) / 100:,.2f} GBP",
                                  f"{(gmv - prev) / prev * 100:+.1f}% vs previous"]
    assert cards["Revenue (fees) (GBP)"][0] == f"{Decimal(fees) / 100:,.2f} GBP"
    assert "Refunds (GBP)" in cards
    assert cards["Wallet float (GBP)"] == [f"{Decimal(float_) / 100:,.2f} GBP",
                                           "no previous period"]
    default = cb.values("ov-kpis.children", {"ov-tick.n_intervals": 1, "url.search": SEARCH})
    assert "GMV (EUR)" in str(default["ov-kpis"]["children"])  # the largest currency


def test_seller_sees_only_their_scope_on_the_overview(signed_in):
    client, user = signed_in(["seller"])
    cb = Callbacks(client)
    out = cb.values("ov-kpis.children", {"ov-tick.n_intervals": 1, "url.search": SEARCH})
    fig = out["ov-signups"]["figure"]
    # daily sign-up totals are not tied to a seller: the seller gets none of them
    assert fig["data"][0].get("x", []) == [] or len(fig["data"][0]["x"]) == 0
    # payments are not tied to a seller either: no money KPIs for them
    assert "GMV" not in str(out["ov-kpis"]["children"])
    assert "Wallet float" not in str(out["ov-kpis"]["children"])


def test_restricted_page_callbacks_refuse_other_roles(signed_in):
    client, _ = signed_in(["seller"])
    cb = Callbacks(client)
    out = cb.values("sec-by-type.figure", {"url.search": SEARCH, "sec-type.data": None})
    assert out["sec-selected"]["children"] == "this page is not open to your role"
    grid = cb.values("sec-grid.getRowsResponse",
                     {"sec-grid.getRowsRequest": {"startRow": 0, "endRow": 100}},
                     {"url.search": SEARCH})
    assert grid["sec-grid"]["getRowsResponse"] == {"rowData": [], "rowCount": 0}


def test_clicking_a_type_filters_the_other_security_charts(signed_in):
    client, _ = signed_in(["support"])
    cb = Callbacks(client)
    picked = cb.values("sec-type.data", {"sec-by-type.clickData": {
        "points": [{"y": "account_locked", "x": 10}]}})
    assert picked["sec-type"]["data"] == "account_locked"
    allt = cb.values("sec-by-type.figure", {"url.search": SEARCH, "sec-type.data": None})
    one = cb.values("sec-by-type.figure", {"url.search": SEARCH,
                                           "sec-type.data": "account_locked"})
    total_all = sum(allt["sec-daily"]["figure"]["data"][0]["y"])
    total_one = sum(one["sec-daily"]["figure"]["data"][0]["y"])
    assert 0 < total_one < total_all
    assert "account_locked" in one["sec-daily"]["figure"]["layout"]["title"]["text"]


def test_drill_down_grid_pages_sorts_and_scopes(signed_in):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    drill = cb.values("us-grid.filterModel", {"us-roles.clickData": {"points": [{"x": "seller"}]}})
    model = drill["us-grid"]["filterModel"]
    resp = cb.values("us-grid.getRowsResponse", {"us-grid.getRowsRequest": {
        "startRow": 0, "endRow": 100, "filterModel": model,
        "sortModel": [{"colId": "user_id", "sort": "asc"}]}}, {"url.search": ""})
    page = resp["us-grid"]["getRowsResponse"]
    assert page["rowCount"] > 0
    assert {r["primary_role"] for r in page["rowData"]} == {"seller"}
    ids = [r["user_id"] for r in page["rowData"]]
    assert ids == sorted(ids)

    seller, user = signed_in(["seller"])
    own = Callbacks(seller).values("ov-grid.getRowsResponse", {"ov-grid.getRowsRequest": {
        "startRow": 0, "endRow": 100}}, {"url.search": "?start=2000-01-01&end=2100-01-01"})
    rows = own["ov-grid"]["getRowsResponse"]["rowData"]
    assert all(r["user_id"] == user.id for r in rows)


def test_filter_controls_and_url_stay_in_step(signed_in):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    controls = {"f-dates.start_date": "2026-11-01", "f-dates.end_date": "2026-11-10",
                "f-currency.value": "eur", "f-territory.value": None, "f-seller.value": 12}
    resp = cb.call("..url.search...", {**controls, "url.search": ""},
                   changed=["f-seller.value"])
    body = resp.json["response"]
    assert body["url"]["search"] == "?start=2026-11-01&end=2026-11-10&currency=EUR&seller=12"
    dep = cb.find("..url.search...")
    payload = {"output": dep["output"], "outputs": [
        {"id": o.split(".")[0], "property": o.split(".")[1]}
        for o in dep["output"].strip(".").split("...")],
        "inputs": [{"id": i["id"], "property": i["property"],
                    "value": "?start=2026-09-01&end=2026-09-30&territory=4"
                    if i["id"] == "url" else None} for i in dep["inputs"]],
        "changedPropIds": ["url.search"]}
    loaded = client.post("/_dash-update-component", json=payload).json["response"]
    assert loaded["f-dates"] == {"start_date": "2026-09-01", "end_date": "2026-09-30"}
    assert loaded["f-territory"]["value"] == 4 and "url" not in loaded


def test_data_quality_and_monitoring_pages(signed_in):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    dq = cb.values("dq-freshness.children", {"url.search": "?start=2026-11-01&end=2026-11-25",
                                              "dq-tick.n_intervals": 0})
    labels = [c["props"]["children"][0]["props"]["children"] for c in dq["dq-freshness"]["children"]]
    assert labels[0] == "snapshot published" and "marts.dim_users" in labels
    assert sum(sum(t["y"]) for t in dq["dq-by-table"]["figure"]["data"]) > 0
    # open and released quarantined rows: the cards and the stacked bars agree, both non-empty
    by_status = {t["name"]: sum(t["y"]) for t in dq["dq-by-table"]["figure"]["data"]}
    cards = {c["props"]["children"][0]["props"]["children"]:
             c["props"]["children"][1]["props"]["children"] for c in dq["dq-freshness"]["children"]}
    assert by_status["open"] > 0 and by_status["released"] > 0
    assert cards["quarantined rows open"] == f"{by_status['open']:,}"
    assert cards["quarantined rows released"] == f"{by_status['released']:,}"
    daily = {t["name"]: sum(t["y"]) for t in dq["dq-daily"]["figure"]["data"]}
    assert daily["released"] > 0 and daily["quarantined"] >= by_status["open"]
    mon = cb.values("mon-kpis.children", {"mon-tick.n_intervals": 1})
    assert mon["mon-kpis"]["children"][0]["props"]["children"][1]["props"]["children"] in (
        "ok", "fail")
    assert "database" in str(mon["mon-health"]["children"])


@pytest.mark.parametrize("path, title", [
    ("/", "Overview"), ("/users", "Users and growth"), ("/security", "Security"),
    ("/support", "Support"), ("/payments", "Payments and refunds"),
    ("/wallets", "Wallets and ledger"), ("/marketplace", "Marketplace"),
    ("/affiliates", "Affiliates"), ("/franchises", "Franchises"),
    ("/data-quality", "Data quality and pipeline health"), ("/monitoring", "System monitoring"),
    ("/admin/users", "User management"), ("/saved", "My dashboards"), ("/reports", "Reports"),
    ("/settings", "Settings")])
def test_every_page_renders_for_an_admin(signed_in, path, title):
    client, _ = signed_in(["admin"])
    assert client.get(path).status_code == 200
    cb = Callbacks(client)
    routed = cb.values("_pages_content.children", {"_pages_location.pathname": path,
                                                   "_pages_location.search": ""})
    assert "not open to your role" not in str(routed)
    assert f"'children': '{title}', 'type': 'H2'" in str(routed) or title in str(routed)
    seller, _ = signed_in(["seller"])
    refused = Callbacks(seller).values("_pages_content.children", {
        "_pages_location.pathname": path, "_pages_location.search": ""})
    assert ("not open to your role" in str(refused)) == (path not in ("/", "/saved", "/reports", "/settings",
                                                                 "/marketplace"))


def test_save_and_reopen_a_custom_dashboard(signed_in):
    client, user = signed_in(["seller"])
    cb = Callbacks(client)
    search = "?start=2026-11-01&end=2026-11-25"
    saved = cb.values("sv-result.children", {"sv-save.n_clicks": 1},
                      {"sv-name.value": "My view", "sv-charts.value": ["users_by_role"],
                       "url.search": search})
    text = str(saved["sv-result"]["children"])
    assert "saved" in text and "My view" in text
    again = cb.values("sv-result.children", {"sv-save.n_clicks": 2},
                      {"sv-name.value": "My view", "sv-charts.value": ["users_by_role"],
                       "url.search": search})
    assert "already have a dashboard" in str(again["sv-result"]["children"])
    opts = cb.values("sv-open.options", {"sv-reload.n_clicks": 1, "sv-result.children": None})
    mine = [o for o in opts["sv-open"]["options"] if o["label"] == "My view"]
    assert len(mine) == 1
    board = cb.values("sv-board.children", {"sv-open.value": mine[0]["value"]})
    assert board["sv-charts"]["value"] == ["users_by_role"]
    graphs = [c for c in board["sv-board"]["children"] if c["type"] == "Graph"]
    assert len(graphs) == 1
    bars = graphs[0]["props"]["figure"]["data"][0]
    # scoped: the seller's chart counts only their own user row, if it falls in the period
    assert sum(bars.get("y", [])) <= 1
    other, _ = signed_in(["customer"])
    refused = Callbacks(other).values("sv-board.children", {"sv-open.value": mine[0]["value"]})
    assert "not found" in str(refused["sv-board"]["children"])


def test_reports_page_previews_and_downloads_scoped_rows(signed_in, api_factory, make_user,
                                                         auth_headers, snapshot_path,
                                                         monkeypatch):
    from dashboards.settings import get_dash_settings

    monkeypatch.setenv("EHB_WAREHOUSE_DIR", str(snapshot_path.parent))
    get_dash_settings.cache_clear()
    analyst, _ = make_user(roles=["analyst"])
    with api_factory() as api:
        created = api.post("/api/v1/reports", headers=auth_headers(analyst), json={
            "name": "dash users report", "sql": "SELECT user_id, primary_role FROM "
            "marts.dim_users WHERE user_id >= $min_id ORDER BY user_id",
            "parameters": {"min_id": {"type": "int"}}, "default_filters": {"min_id": 1}})
        assert created.status_code == 201, created.text
    rid = created.json()["id"]
    try:
        client, _ = signed_in(["analyst"])
        cb = Callbacks(client)
        opts = cb.values("rp-report.options", {"rp-report.id": "rp-report"})["rp-report"]["options"]
        assert {"label": "dash users report", "value": rid} in opts
        shown = cb.values("rp-description.children", {"rp-report.value": rid})
        assert "min_id" in str(shown["rp-params"]["children"])
        dep = cb.find("rp-dl-csv.href")
        body = {"output": dep["output"], "outputs": [
            {"id": f"rp-dl-{f}", "property": "href"} for f in ("csv", "xlsx", "parquet", "pdf")],
            "inputs": [{"id": "rp-report", "property": "value", "value": rid},
                       [{"id": {"type": "rp-param", "name": "min_id"}, "property": "value",
                         "value": 291}]],
            "state": [[{"id": {"type": "rp-param", "name": "min_id"}, "property": "id",
                        "value": {"type": "rp-param", "name": "min_id"}}]],
            "changedPropIds": ["rp-report.value"]}
        links = client.post("/_dash-update-component", json=body).json["response"]
        href = links["rp-dl-csv"]["href"]
        assert href == f"/download/report/{rid}.csv?min_id=291"
        csv = client.get(href)
        assert csv.status_code == 200 and csv.headers["Content-Type"].startswith("text/csv")
        assert len(csv.data.decode().strip().splitlines()) == 1 + 10
        assert client.get(f"/download/report/{rid}.docx").status_code == 422
        # a seller downloading the same report gets only their own row
        seller, user = signed_in(["seller"])
        rows = seller.get(f"/download/report/{rid}.csv").data.decode().strip().splitlines()
        assert [r.split(",")[0] for r in rows[1:]] == ([str(user.id)] if user.id <= 300 else [])
        assert dash_anonymous_download(client, rid) == 302
    finally:
        get_dash_settings.cache_clear()


def dash_anonymous_download(client, rid) -> int:
    assert sign_out(client).status_code == 302
    return client.get(f"/download/report/{rid}.csv").status_code


def test_session_is_rechecked_with_the_auth_service(dash_app, make_user, database_url):
    from sqlalchemy import update

    from api.auth.models import User
    from api.db import session_scope

    user, password = make_user(roles=["analyst"])
    client = dash_app.server.test_client()
    assert post_login(client, {"email": user.email, "password": password}).status_code == 302
    assert client.get("/security").status_code == 200

    def age_session():
        with client.session_transaction() as s:
            s["user"] = {**s["user"], "checked": 0.0}

    with session_scope() as db:  # an admin changes the roles: picked up at the next check
        db.execute(update(User).where(User.id == user.id).values(roles=["seller"]))
    age_session()
    cb = Callbacks(client)
    out = cb.values("sec-by-type.figure", {"url.search": SEARCH, "sec-type.data": None})
    assert out["sec-selected"]["children"] == "this page is not open to your role"
    with session_scope() as db:  # disabled: the session ends
        db.execute(update(User).where(User.id == user.id).values(is_active=False))
    age_session()
    assert client.post("/_dash-update-component", json={}).status_code == 401
    assert client.get("/").status_code == 302


def test_quarantine_chart_shows_open_and_released(signed_in):
    client, _ = signed_in(["admin"])
    cb = Callbacks(client)
    search = "?start=2026-11-01&end=2026-11-25"
    cb.values("sv-result.children", {"sv-save.n_clicks": 1},
              {"sv-name.value": "Quarantine", "sv-charts.value": ["quarantine_by_table"],
               "url.search": search})
    opts = cb.values("sv-open.options", {"sv-reload.n_clicks": 1, "sv-result.children": None})
    board_id = next(o["value"] for o in opts["sv-open"]["options"] if o["label"] == "Quarantine")
    board = cb.values("sv-board.children", {"sv-open.value": board_id})
    graph = next(c for c in board["sv-board"]["children"] if c["type"] == "Graph")
    traces = {t["name"]: sum(t["y"]) for t in graph["props"]["figure"]["data"]}
    assert set(traces) == {"open", "released"}
    assert traces["open"] > 0 and traces["released"] > 0
