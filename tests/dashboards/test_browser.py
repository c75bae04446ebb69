"""Browser tests: Playwright driving Debian's chromium (installed by .ci/install-browser.sh)
against a live API (uvicorn) and a live Dash app (werkzeug) on free ports."""

from __future__ import annotations

import os
import socket
import threading
import time

import pytest

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="chromium is not installed at /usr/bin/chromium "
                              "(run .ci/install-browser.sh)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(api_app, snapshot_path):
    import uvicorn
    from werkzeug.serving import make_server

    from dashboards.app import create_app
    from dashboards.auth import http_client_factory
    from dashboards.settings import DashSettings, get_dash_settings
    from dashboards.warehouse import Warehouse

    os.environ["EHB_WAREHOUSE_DIR"] = str(snapshot_path.parent)
    get_dash_settings.cache_clear()
    api_port, dash_port = _free_port(), _free_port()
    api_server = uvicorn.Server(uvicorn.Config(api_app, host="127.0.0.1", port=api_port,
                                               log_level="warning", lifespan="off"))
    threading.Thread(target=api_server.run, daemon=True).start()
    api_url = f"http://127.0.0.1:{api_port}"
    dash_app = create_app(DashSettings(warehouse_dir=snapshot_path.parent, secret_key="b" * 40,
                                       api_url=api_url, refresh_ms=3000),
                          Warehouse(snapshot_path), http_client_factory(api_url))
    web = make_server("127.0.0.1", dash_port, dash_app.server, threaded=True)
    threading.Thread(target=web.serve_forever, daemon=True).start()
    deadline = time.monotonic() + 20
    while not api_server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    yield {"api": api_url, "dash": f"http://127.0.0.1:{dash_port}"}
    web.shutdown()
    api_server.should_exit = True
    os.environ.pop("EHB_WAREHOUSE_DIR", None)
    get_dash_settings.cache_clear()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def _sign_in(page, base, email, password):
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("#sign-in")
    page.wait_for_selector("#ov-kpis .kpi", timeout=20_000)


def _bars(page, graph_id: str) -> int:
    page.wait_for_selector(f"#{graph_id} .js-plotly-plot g.point", timeout=15_000)
    return page.locator(f"#{graph_id} g.point").count()


def test_analyst_journey(live, browser, make_user, auth_headers, tmp_path):
    import httpx

    user, password = make_user(roles=["analyst"])
    report = httpx.post(f"{live['api']}/api/v1/reports", headers=auth_headers(user), json={
        "name": "browser users export", "sql": "SELECT user_id, email_domain FROM "
        "marts.dim_users WHERE user_id <= $max_id ORDER BY user_id",
        "parameters": {"max_id": {"type": "int"}}, "default_filters": {"max_id": 25}})
    assert report.status_code == 201, report.text

    ctx = browser.new_context(accept_downloads=True)
    page = ctx.new_page()
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live["dash"]

    # sign in, overview KPIs and charts with data
    _sign_in(page, base, user.email, password)
    assert page.locator("#ov-kpis .kpi").count() == 9  # 5 users/security + 4 money
    assert _bars(page, "ov-signups") >= 20

    # a filter in the URL narrows the charts; a control writes the URL
    page.goto(f"{base}/?start=2026-11-19&end=2026-11-25")
    page.wait_for_selector("#ov-signups g.point")
    page.wait_for_function("document.querySelectorAll('#ov-signups g.trace.bars g.point')"
                           ".length === 7", timeout=15_000)
    page.fill("#f-currency", "EUR")
    page.press("#f-currency", "Enter")
    page.wait_for_url("**currency=EUR**", timeout=10_000)
    assert "start=2026-11-19" in page.url

    # every page opens from the navigation
    for path, title in [("/users", "Users and growth"), ("/security", "Security"),
                        ("/support", "Support"), ("/payments", "Payments and refunds"),
                        ("/wallets", "Wallets and ledger"), ("/marketplace", "Marketplace"),
                        ("/affiliates", "Affiliates"), ("/franchises", "Franchises"),
                        ("/data-quality", "Data quality and pipeline health"),
                        ("/monitoring", "System monitoring"), ("/saved", "My dashboards"),
                        ("/reports", "Reports"), ("/settings", "Settings"), ("/", "Overview")]:
        page.click(f"a.nav-link[href='{path}']")
        page.wait_for_selector(f"h2:text-is('{title}')", timeout=15_000)
    page.click("a.nav-link[href='/monitoring']")
    page.wait_for_selector("#mon-status", timeout=15_000)

    # drill down: click a role bar, the grid shows only that role
    page.goto(f"{base}/users?start=2026-07-01&end=2026-11-25")
    assert _bars(page, "us-roles") > 0
    page.wait_for_selector("#us-grid .ag-row", timeout=15_000)
    box = page.locator("#us-roles g.trace.bars").first.locator("g.point").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3)
    page.wait_for_function(
        "(() => { const cells = [...document.querySelectorAll("
        "'#us-grid .ag-center-cols-container [col-id=primary_role]')].map(c => c.textContent);"
        " return cells.length > 0 && new Set(cells).size === 1; })()", timeout=15_000)

    # save a dashboard and reopen it
    page.goto(f"{base}/saved?start=2026-10-01&end=2026-11-25")
    page.fill("#sv-name", "browser board")
    page.click("#sv-save")
    page.wait_for_selector("#sv-saved", timeout=15_000)
    page.click("#sv-open")
    page.get_by_text("browser board", exact=True).last.click()
    page.wait_for_selector("#sv-header", timeout=15_000)
    # the header comes with the callback response; plotly draws the chart just after it
    page.wait_for_selector("#sv-board .js-plotly-plot", timeout=15_000)

    # download an export
    page.goto(f"{base}/reports")
    page.click("#rp-report")
    page.get_by_text("browser users export", exact=True).last.click()
    page.wait_for_function("document.querySelector('#rp-dl-csv').getAttribute('href')"
                           ".includes('/download/report/')", timeout=15_000)
    page.click("#rp-run")
    page.wait_for_selector("#rp-count", timeout=15_000)
    assert page.inner_text("#rp-count").startswith("25 rows")
    with page.expect_download(timeout=20_000) as info:
        page.click("#rp-dl-csv")
    target = tmp_path / "export.csv"
    info.value.save_as(target)
    lines = target.read_text().strip().splitlines()
    assert lines[0] == '"user_id","email_domain"' and len(lines) == 26

    assert not errors, errors
    ctx.close()


def test_seller_sees_only_their_pages(live, browser, make_user):
    user, password = make_user(roles=["seller"])
    ctx = browser.new_context()
    page = ctx.new_page()
    _sign_in(page, live["dash"], user.email, password)
    links = sorted(page.locator("a.nav-link").evaluate_all("els => els.map(e => e.getAttribute('href'))"))
    assert links == ["/", "/marketplace", "/reports", "/saved", "/settings"]
    page.goto(f"{live['dash']}/security")
    page.wait_for_selector("#forbidden", timeout=15_000)
    ctx.close()


def test_fraud_map_and_pipeline_health_pages(live, browser, make_user, tmp_path, monkeypatch):
    """Wallets holds, Security fraud cases (click a status: the paged grid follows), the
    territory map drawn from the app's own outlines (no CDN), data quality with Dagster."""
    from dashboards import pipeline_status
    from tests.dashboards.test_quality_page import _materialize

    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    pipeline_status.clear_cache()
    _materialize(home, fail=True)

    user, password = make_user(roles=["analyst"])
    ctx = browser.new_context()
    page = ctx.new_page()
    errors, outside = [], []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    base = live["dash"]
    page.on("request", lambda r: None if r.url.startswith(base) else outside.append(r.url))
    _sign_in(page, base, user.email, password)

    page.goto(f"{base}/wallets?start=2026-11-01&end=2026-11-25")
    assert _bars(page, "wl-holds") > 10
    page.wait_for_selector("#wl-holds-grid .ag-row", timeout=15_000)
    assert page.locator("#wl-hold-kpis .kpi").count() == 6

    page.goto(f"{base}/security?start=2026-11-01&end=2026-11-25")
    assert _bars(page, "sec-fraud-daily") > 20
    assert _bars(page, "sec-case-status") == 3
    page.wait_for_selector("#sec-cases-grid .ag-row", timeout=15_000)
    page.locator("#sec-case-status").scroll_into_view_if_needed()
    box = page.locator("#sec-case-status g.point").first.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] - 3)
    page.wait_for_function(
        "(() => { const cells = [...document.querySelectorAll("
        "'#sec-cases-grid .ag-center-cols-container [col-id=status]')].map(c => c.textContent);"
        " return cells.length > 0 && new Set(cells).size === 1; })()", timeout=15_000)

    page.goto(f"{base}/franchises?start=2026-06-01&end=2026-11-25")
    page.wait_for_selector("#fr-map path.choroplethlocation", timeout=20_000)
    assert page.locator("#fr-map path.choroplethlocation").count() == 4

    page.goto(f"{base}/data-quality")
    page.wait_for_selector("#dq-checks-table", timeout=20_000)
    assert "amounts_positive" in page.inner_text("#dq-checks-table")
    assert "SUCCESS" in page.inner_text("#dq-last-run")

    assert not outside, outside  # offline: nothing fetched from another host
    assert not errors, errors
    ctx.close()


def test_sign_out_button_posts_the_form_and_a_get_does_not(live, browser, make_user):
    """The header's "Sign out" is a POST form with the session's CSRF token: clicking it signs
    out; opening /logout (what a cross-site link does) is refused and the session stays."""
    user, password = make_user(roles=["analyst"])
    ctx = browser.new_context()
    page = ctx.new_page()
    base = live["dash"]
    _sign_in(page, base, user.email, password)
    resp = page.goto(f"{base}/logout")
    assert resp.status == 405
    page.goto(f"{base}/")
    page.wait_for_selector("#ov-kpis .kpi", timeout=20_000)  # still signed in
    assert page.is_visible("#sign-out") and page.inner_text("#sign-out") == "Sign out"
    with page.expect_navigation(url=f"{base}/login**", wait_until="domcontentloaded",
                                timeout=20_000):
        page.click("#sign-out")
    assert page.is_visible("#sign-in")
    page.goto(f"{base}/")
    assert "/login" in page.url  # the session is gone
    ctx.close()
