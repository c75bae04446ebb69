"""System monitoring: the API's /health checks and its Prometheus /metrics (requests by
route, error rate, latency percentiles from the histogram), refreshed every few seconds."""

from __future__ import annotations

import dash
import httpx
from dash import Input, Output, dcc, html

from dashboards.components import bar, empty_figure, figure, graph, kpi
from dashboards.context import NotPermitted, ctx, require
from dashboards.pages._common import OPERATORS, gate

ROLES = OPERATORS
dash.register_page(__name__, path="/monitoring", name="System", order=60, roles=ROLES)


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("System monitoring"),
        dcc.Interval(id="mon-tick", interval=ctx().refresh_ms),
        html.Div(id="mon-kpis", className="kpis"),
        html.Div(id="mon-health"),
        html.Div([graph("mon-routes"), graph("mon-latency")], className="row"),
    ])


def parse_metrics(text: str) -> dict:
    """Requests and errors per route, and latency histogram buckets summed over routes."""
    from prometheus_client.parser import text_string_to_metric_families

    per_route: dict[str, list[int]] = {}
    buckets: dict[float, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "ehb_http_requests_total":
                entry = per_route.setdefault(s.labels.get("route", "?"), [0, 0])
                entry[0] += int(s.value)
                if str(s.labels.get("status", "")).startswith("5"):
                    entry[1] += int(s.value)
            elif s.name == "ehb_http_request_duration_seconds_bucket":
                le = float(s.labels["le"])
                buckets[le] = buckets.get(le, 0) + s.value
    return {"routes": per_route, "buckets": dict(sorted(buckets.items()))}


def quantile(buckets: dict[float, float], q: float) -> float | None:
    """Upper bound of the bucket holding the q-quantile (Prometheus-style, no interpolation)."""
    if not buckets:
        return None
    total = max(buckets.values())
    if total <= 0:
        return None
    for le, count in buckets.items():
        if count >= q * total:
            return le
    return None


def register_callbacks(app) -> None:
    @app.callback(Output("mon-kpis", "children"), Output("mon-health", "children"),
                  Output("mon-routes", "figure"), Output("mon-latency", "figure"),
                  Input("mon-tick", "n_intervals"))
    def refresh(_n):
        try:
            require(ROLES)
        except NotPermitted as exc:
            return [], str(exc), empty_figure(str(exc)), empty_figure(str(exc))
        try:
            with ctx().api() as client:
                health = client.get("/health")
                metrics = client.get("/metrics")
        except httpx.HTTPError as exc:
            msg = f"API unreachable: {type(exc).__name__}"
            return [], html.Div(msg, className="notice"), empty_figure(msg), empty_figure(msg)
        body = health.json()
        checks = body.get("checks", {})
        rows = [html.Tr([html.Td(name), html.Td(c.get("status")),
                         html.Td(c.get("ms", "")), html.Td(c.get("error", ""))])
                for name, c in sorted(checks.items())]
        table = html.Table([html.Tr([html.Th("check"), html.Th("status"), html.Th("ms"),
                                     html.Th("error")])] + rows, id="mon-health-table")
        m = parse_metrics(metrics.text) if metrics.status_code == 200 else {"routes": {},
                                                                            "buckets": {}}
        total = sum(v[0] for v in m["routes"].values())
        errors = sum(v[1] for v in m["routes"].values())
        p50, p95 = quantile(m["buckets"], 0.5), quantile(m["buckets"], 0.95)
        cards = [html.Div([html.Div("API status", className="kpi-label"),
                           html.Div(body.get("status", "?"), className="kpi-value",
                                    id="mon-status")], className="kpi"),
                 kpi("Requests served", total, None),
                 kpi("5xx error rate %", (errors / total * 100) if total else 0, None, "{:.2f}"),
                 kpi("p50 latency ≤ ms", p50 * 1000 if p50 else None, None),
                 kpi("p95 latency ≤ ms", p95 * 1000 if p95 else None, None)]
        top = sorted(m["routes"].items(), key=lambda kv: -kv[1][0])[:15]
        fig_routes = figure([bar([v[0] for _, v in top], [r for r, _ in top], "requests",
                                 orientation="h"),
                             bar([v[1] for _, v in top], [r for r, _ in top], "5xx",
                                 orientation="h")], "Requests by route")
        b = m["buckets"]
        fig_lat = figure([bar([f"≤{le:g}s" for le in b], list(b.values()))],
                         "Requests by latency bucket (cumulative)")
        return cards, table, fig_routes, fig_lat
