"""Security: events by type (click a type to filter the other charts), login failures and
lockouts per day, the current login throttles as a drill-down table; fraud decisions per day
by verdict (pass/hold/block) and by the rule that weighed most, and the fraud case queue
(transfers held for review: open cases by age, cases by status; click a status to filter the
case grid, which pages on the server)."""

from __future__ import annotations

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards.catalog import mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, grid,
                                   line, register_grid)
from dashboards.context import query, require
from dashboards.pages._common import ANALYSTS, gate

ROLES = ANALYSTS
DECISIONS, HOLDS = "marts.fct_fraud_decisions_daily", "marts.fraud_holds"
VERDICT_COLORS = {"pass": "#2ca02c", "hold": "#ff7f0e", "block": "#d62728"}
AGE_BUCKETS = ("< 4 h", "4-24 h", "1-3 days", "> 3 days")
# the case queue's columns first (the grid still filters and sorts on the mart's contract)
CASE_COLUMNS = ["case_id", "status", "age_hours", "reviewer_outcome", "amount_minor",
                "currency", "score", "top_rule", "user_id", "to_user_id", "decided_at",
                "resolved_at", "reviewer_id", "decision_id"]
dash.register_page(__name__, path="/security", name="Security", order=40, roles=ROLES,
                   marts=["marts.fct_security_events_daily"])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Security"),
        dcc.Store(id="sec-type"),
        html.Div(id="sec-selected", className="notice"),
        html.Div([graph("sec-by-type"), graph("sec-daily")], className="row"),
        html.Div([graph("sec-failures")], className="row"),
        html.H3("Login throttles"),
        grid("sec-grid", "marts.security_throttles"),
        html.H3("Fraud decisions and cases"),
        dcc.Store(id="sec-cases-only", data={"hold_kind": "fraud_review"}),
        html.Div(id="sec-fraud-kpis", className="kpis"),
        html.Div([graph("sec-fraud-daily"), graph("sec-fraud-rules")], className="row"),
        html.Div([graph("sec-case-age"), graph("sec-case-status")], className="row"),
        html.H3("Fraud cases (click a status above to filter)"),
        grid("sec-cases-grid", HOLDS, CASE_COLUMNS),
    ])


def _age_bucket_sql() -> str:
    return ("CASE WHEN age_hours < 4 THEN '< 4 h' WHEN age_hours < 24 THEN '4-24 h' "
            "WHEN age_hours < 72 THEN '1-3 days' ELSE '> 3 days' END")


def fraud_figures(f: flt.Filters) -> tuple[list, dict, dict, dict, dict]:
    """KPI cards, decisions per day by verdict, decisions by top rule, the open case queue by
    age and cases by status (period). Counts only: amounts differ by currency."""
    from dashboards.components import kpi

    where, params = flt.where(mart(DECISIONS), f)
    daily = query(f"SELECT decision_date, verdict, sum(decisions) AS n FROM {DECISIONS} "
                  f"WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", params)
    fig_daily = figure([bar([r[0] for r in daily.rows if r[1] == v],
                            [r[2] for r in daily.rows if r[1] == v], v,
                            marker={"color": c}) for v, c in VERDICT_COLORS.items()],
                       "Fraud decisions per day by verdict", barmode="stack")
    rules = query(f"SELECT top_rule, verdict, sum(decisions) AS n FROM {DECISIONS} "
                  f"WHERE {where} AND top_rule <> 'none' GROUP BY 1, 2 ORDER BY 1, 2", params)
    fig_rules = figure([bar([r[2] for r in rules.rows if r[1] == v],
                            [r[0] for r in rules.rows if r[1] == v], v, orientation="h",
                            marker={"color": c}) for v, c in VERDICT_COLORS.items()],
                       "Decisions by the rule that weighed most", barmode="stack")
    totals = {v: sum(r[2] for r in daily.rows if r[1] == v) for v in VERDICT_COLORS}
    cur = {"c": f.currency} if f.currency else {}
    cur_sql = " AND currency = $c" if f.currency else ""
    queue = query(f"SELECT {_age_bucket_sql()} AS bucket, count(*) AS n, max(age_hours) "
                  f"FROM {HOLDS} WHERE hold_kind = 'fraud_review' AND is_open{cur_sql} "
                  "GROUP BY 1", cur)
    by_bucket = {r[0]: r[1] for r in queue.rows}
    fig_age = figure([bar(list(AGE_BUCKETS), [by_bucket.get(b, 0) for b in AGE_BUCKETS],
                          "open cases", marker={"color": "#ff7f0e"})],
                     "Open fraud cases by age (now)")
    hwhere, hparams = flt.where(mart(HOLDS), f)
    status = query(f"SELECT status, count(*) AS n FROM {HOLDS} WHERE {hwhere} "
                   "AND hold_kind = 'fraud_review' GROUP BY 1 ORDER BY 1", hparams)
    fig_status = figure([bar(status.column("status"), status.column("n"), "cases")],
                        "Fraud cases opened in the period by status (click to filter)")
    oldest = max((r[2] for r in queue.rows), default=None)
    num = "{:,.0f}"
    cards = [kpi("Decisions passed", totals["pass"], None, num),
             kpi("Held for review", totals["hold"], None, num),
             kpi("Blocked", totals["block"], None, num),
             kpi("Open fraud cases (now)", sum(by_bucket.values()), None, num),
             kpi("Oldest open case (hours)", oldest, None, "{:,.1f}")]
    return cards, fig_daily, fig_rules, fig_age, fig_status


def register_callbacks(app) -> None:
    @app.callback(Output("sec-type", "data"), Input("sec-by-type", "clickData"),
                  prevent_initial_call=True)
    def pick_type(click):
        return click["points"][0]["y"] if click else None

    @app.callback(Output("sec-by-type", "figure"), Output("sec-daily", "figure"),
                  Output("sec-failures", "figure"), Output("sec-selected", "children"),
                  Input("url", "search"), Input("sec-type", "data"))
    def charts(search, event_type):
        try:
            require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart("marts.fct_security_events_daily"), f)
            by_type = query("SELECT event_type, sum(events) AS n FROM "
                            f"marts.fct_security_events_daily WHERE {where} GROUP BY 1 "
                            "ORDER BY 2", params)
            colors = ["#d62728" if t == event_type else "#1f77b4"
                      for t in by_type.column("event_type")]
            fig_type = figure([bar(by_type.column("n"), by_type.column("event_type"),
                                   orientation="h", marker={"color": colors})],
                              "Events by type (click to filter)")
            typed = where + (" AND event_type = $etype" if event_type else "")
            p2 = {**params, **({"etype": event_type} if event_type else {})}
            daily = query("SELECT event_date, sum(events) AS n, sum(distinct_ips) AS ips FROM "
                          f"marts.fct_security_events_daily WHERE {typed} GROUP BY 1 ORDER BY 1",
                          p2)
            fig_daily = figure([line(daily.column("event_date"), daily.column("n"), "events"),
                                line(daily.column("event_date"), daily.column("ips"),
                                     "distinct IPs")],
                               f"Events per day — {event_type or 'all types'}")
            where, params = flt.where(mart("marts.fct_login_failures_daily"), f)
            fail = query("SELECT event_date, failure_share FROM marts.fct_login_failures_daily "
                         f"WHERE {where} ORDER BY 1", params)
            fig_fail = figure([line(fail.column("event_date"), fail.column("failure_share"),
                                    "failure share")],
                              "Share of logins that failed", yaxis={"tickformat": ".0%"})
            note = f"Filtered to {event_type}" if event_type else "Click a type to filter"
            return fig_type, fig_daily, fig_fail, note
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return empty_figure(msg), empty_figure(msg), empty_figure(msg), msg

    register_grid(app, "sec-grid", "marts.security_throttles", ROLES)

    @app.callback(Output("sec-fraud-kpis", "children"), Output("sec-fraud-daily", "figure"),
                  Output("sec-fraud-rules", "figure"), Output("sec-case-age", "figure"),
                  Output("sec-case-status", "figure"), Input("url", "search"))
    def fraud(search):
        try:
            require(ROLES)
            return fraud_figures(flt.from_query(search))
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return ([html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg),
                    empty_figure(msg), empty_figure(msg))

    @app.callback(Output("sec-cases-grid", "filterModel"), Input("sec-case-status", "clickData"),
                  prevent_initial_call=True)
    def drill_cases(click):
        status = click["points"][0]["x"] if click else None
        return {"status": {"filterType": "text", "type": "equals", "filter": status}} \
            if status else {}

    register_grid(app, "sec-cases-grid", HOLDS, ROLES, cross_store="sec-cases-only")
