"""`ehb bench dash`: builds a big snapshot of the contract's marts, then for every data page
measures each callback's latency (p50/p95 over `repeat` calls with different periods) and the
page payload (page HTML + layout + the page's routed content + every callback response)."""

from __future__ import annotations

import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from rich.console import Console
from rich.table import Table

console = Console()

WIDE = "?start=2000-01-01&end=2100-01-01"


def _periods(n: int, today: date) -> list[str]:
    out = []
    for i in range(n):
        days = [7, 30, 90, 365, 730][i % 5]
        end = today - timedelta(days=i)
        out.append(f"?start={end - timedelta(days=days - 1)}&end={end}")
    return out


def _page_callbacks(today: date):
    grid_req = {"startRow": 0, "endRow": 100, "sortModel": [{"colId": "signup_date",
                                                             "sort": "desc"}]}
    return {
        "/": [("ov-kpis.children", lambda s: {"ov-tick.n_intervals": 1, "url.search": s}, {}),
              ("ov-grid.getRowsResponse", lambda s: {"ov-grid.getRowsRequest": grid_req},
               "search")],
        "/users": [("us-roles.figure", lambda s: {"url.search": s}, {}),
                   ("us-grid.getRowsResponse", lambda s: {"us-grid.getRowsRequest": grid_req},
                    "search")],
        "/security": [("sec-by-type.figure", lambda s: {"url.search": s,
                                                        "sec-type.data": "login_failed"}, {}),
                      ("sec-grid.getRowsResponse", lambda s: {"sec-grid.getRowsRequest": {
                          "startRow": 0, "endRow": 100}}, "search"),
                      ("sec-fraud-daily.figure", lambda s: {"url.search": s}, {}),
                      ("sec-cases-grid.getRowsResponse", lambda s: {
                          "sec-cases-grid.getRowsRequest": {
                              "startRow": 0, "endRow": 100,
                              "sortModel": [{"colId": "age_hours", "sort": "desc"}]}},
                       "search")],
        "/payments": [("pay-kpis.children", lambda s: {"url.search": s,
                                                        "pay-currency.data": None}, {})],
        "/wallets": [("wl-kpis.children", lambda s: {"url.search": s}, {}),
                     ("wl-grid.getRowsResponse", lambda s: {"wl-grid.getRowsRequest": {
                         "startRow": 0, "endRow": 100, "sortModel": [
                             {"colId": "balance", "sort": "desc"}]}}, "search"),
                     ("wl-holds.figure", lambda s: {"url.search": s}, {}),
                     ("wl-holds-grid.getRowsResponse", lambda s: {"wl-holds-grid.getRowsRequest": {
                         "startRow": 0, "endRow": 100}}, "search")],
        "/marketplace": [("mkt-kpis.children", lambda s: {"url.search": s,
                                                           "mkt-seller.data": None}, {})],
        "/affiliates": [("aff-kpis.children", lambda s: {"url.search": s}, {})],
        "/franchises": [("fr-map.figure", lambda s: {"url.search": s}, {})],
        "/support": [("sp-kpis.children", lambda s: {"url.search": s, "sp-day.data": None},
                      {})],
        "/data-quality": [("dq-freshness.children", lambda s: {"url.search": s,
                                                               "dq-tick.n_intervals": 1}, {}),
                          ("dq-grid.getRowsResponse", lambda s: {"dq-grid.getRowsRequest": {
                              "startRow": 0, "endRow": 100}}, "search"),
                          ("dq-check-kpis.children", lambda s: {"dq-tick.n_intervals": 1}, {})],
    }


class _BenchSessions:
    """The bench's one session, in memory (the bench needs no database; the real stores cost
    one primary-key read per request on top of what is measured here)."""

    def __init__(self):
        self.rows: dict[str, str] = {}

    def load(self, key, now):
        return self.rows.get(key)

    def create(self, key, data, user_id, expires_at):
        self.rows[key] = data

    def update_existing(self, key, data, user_id, now):
        if key in self.rows:
            self.rows[key] = data
        return key in self.rows

    def end(self, key):
        self.rows.pop(key, None)

    def purge_expired(self, now):
        return 0


def run_bench(users: int, days: int, events_per_day: int, repeat: int,
              snapshot: str | None, role: str = "analyst") -> dict:
    from dashboards.app import create_app
    from dashboards.callbacks import Callbacks
    from dashboards.sample import build_sample_snapshot
    from dashboards.settings import DashSettings
    from dashboards.warehouse import Warehouse

    today = date.today()
    tmp = tempfile.TemporaryDirectory(prefix="ehb-dash-bench-")
    if snapshot:
        path = Path(snapshot)
    else:
        t0 = time.perf_counter()
        path = build_sample_snapshot(Path(tmp.name) / "snapshot.duckdb", users=users, days=days,
                                     events_per_day=events_per_day, today=today)
        console.print(f"built snapshot: {users:,} users, {days} days in "
                      f"{time.perf_counter() - t0:.1f} s ({path.stat().st_size / 1e6:.0f} MB)")
    wh = Warehouse(path)
    app = create_app(DashSettings(warehouse_dir=path.parent, secret_key="bench" * 8), wh,
                     api=lambda: (_ for _ in ()).throw(RuntimeError("no API in the bench")),
                     session_store=_BenchSessions())
    client = app.server.test_client()
    with client.session_transaction() as s:
        s["user"] = {"uid": 12, "email": "bench@example.com", "roles": [role], "token": "",
                     "checked": time.time() + 86400}  # no auth service in the bench
    cb = Callbacks(client)
    layout_bytes = len(client.get("/_dash-layout").data)
    table = Table(title=f"ehb bench dash — {users:,} users, {days} days, {repeat} calls each, "
                        f"as {role}")
    for col in ("page", "callback", "p50 ms", "p95 ms", "max ms", "payload KB"):
        table.add_column(col)
    results = {}
    periods = _periods(repeat, today)
    pages = _page_callbacks(today)
    if role not in ("admin", "analyst", "support"):  # scoped roles: the pages open to them
        pages = {"/": pages["/"]}
    for page, callbacks in pages.items():
        html_bytes = len(client.get(page + WIDE).data)
        routed = cb.call("_pages_content.children", {"_pages_location.pathname": page,
                                                     "_pages_location.search": WIDE})
        payload = html_bytes + layout_bytes + len(routed.data)
        worst_p95 = 0.0
        for output, make_inputs, state in callbacks:
            times, size = [], 0
            for i in range(repeat):
                search = periods[i]
                st = {"url.search": search} if state == "search" else {}
                t = time.perf_counter()
                resp = cb.call(output, make_inputs(search), st)
                times.append((time.perf_counter() - t) * 1000)
                if resp.status_code != 200:
                    raise RuntimeError(f"{page} {output}: HTTP {resp.status_code}")
                size = max(size, len(resp.data))
            payload += size
            p95 = (statistics.quantiles(times, n=20, method="inclusive")[18]
                   if len(times) >= 2 else times[0])
            worst_p95 = max(worst_p95, p95)
            table.add_row(page, output.split(".")[0], f"{statistics.median(times):.1f}",
                          f"{p95:.1f}", f"{max(times):.1f}", f"{size / 1024:.1f}")
        results[page] = {"p95_ms": round(worst_p95, 1), "payload_kb": round(payload / 1024, 1)}
        table.add_row(page, "[b]page total[/b]", "", f"{worst_p95:.1f}", "",
                      f"{payload / 1024:.1f}")
    console.print(table)
    console.print({p: r for p, r in results.items()})
    tmp.cleanup()
    return results
