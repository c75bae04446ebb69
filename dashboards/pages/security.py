"""Security: events by type (click a type to filter the other charts), login failures and
lockouts per day, and the current login throttles as a drill-down table."""

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
    ])


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
