"""Overview: headline KPIs for the period against the previous one, refreshed every few
seconds, and the daily sign-up trend (click a day to drill into that day's users)."""

from __future__ import annotations

import dash
import plotly.graph_objects as go
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards.catalog import mart
from dashboards.components import (empty_figure, failure_message, figure, graph, grid, kpi,
                                   register_grid)
from dashboards.context import ctx, query, require
from dashboards.pages._common import gate

ROLES = None  # every signed-in user; the data is scoped
dash.register_page(__name__, path="/", name="Overview", order=0, roles=ROLES,
                   marts=["marts.fct_signups_daily"])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Overview"),
        dcc.Interval(id="ov-tick", interval=ctx().refresh_ms),
        html.Div(id="ov-kpis", className="kpis"),
        html.Div([graph("ov-signups"), graph("ov-security")], className="row"),
        html.H3("Users who signed up (click a day above to drill down)"),
        grid("ov-grid", "marts.dim_users"),
    ])


def _sum(table: str, column: str, f: flt.Filters) -> int | None:
    where, params = flt.where(mart(table), f)
    value = query(f'SELECT sum("{column}") FROM {table} WHERE {where}', params).rows[0][0]
    return None if value is None else int(value)


def kpis(f: flt.Filters) -> list[tuple[str, int | None, int | None]]:
    prev = f.previous()
    out = []
    for label, table, col in [
        ("New users", "marts.fct_signups_daily", "new_users"),
        ("Verified new users", "marts.fct_signups_daily", "verified_users"),
        ("Login failures", "marts.fct_login_failures_daily", "login_failures"),
        ("Lockouts", "marts.fct_login_failures_daily", "lockouts"),
    ]:
        out.append((label, _sum(table, col, f), _sum(table, col, prev)))
    seen = ("SELECT count(*) FROM marts.dim_users WHERE CAST(last_session_at AS DATE) "
            "BETWEEN $s AND $e")
    out.append(("Users last seen in period",
                query(seen, {"s": f.start, "e": f.end}).rows[0][0],
                query(seen, {"s": prev.start, "e": prev.end}).rows[0][0]))
    return out


def register_callbacks(app) -> None:
    @app.callback(Output("ov-kpis", "children"), Output("ov-signups", "figure"),
                  Output("ov-security", "figure"),
                  Input("ov-tick", "n_intervals"), Input("url", "search"))
    def refresh(_n, search):
        try:
            require(ROLES)
            f = flt.from_query(search)
            cards = [kpi(label, v, p) for label, v, p in kpis(f)]
            where, params = flt.where(mart("marts.fct_signups_daily"), f)
            s = query("SELECT signup_date, new_users, verified_users FROM "
                      f"marts.fct_signups_daily WHERE {where} ORDER BY 1", params)
            signups = figure([go.Bar(x=s.column("signup_date"), y=s.column("new_users"),
                                     name="new users"),
                              go.Scatter(x=s.column("signup_date"), y=s.column("verified_users"),
                                         name="verified", mode="lines")],
                             "Sign-ups per day")
            where, params = flt.where(mart("marts.fct_login_failures_daily"), f)
            sec = query("SELECT event_date, login_failures, lockouts FROM "
                        f"marts.fct_login_failures_daily WHERE {where} ORDER BY 1", params)
            security = figure([go.Scatter(x=sec.column("event_date"),
                                          y=sec.column("login_failures"), name="login failures"),
                               go.Scatter(x=sec.column("event_date"), y=sec.column("lockouts"),
                                          name="lockouts")], "Login failures and lockouts")
            return cards, signups, security
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return [html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg)

    @app.callback(Output("ov-grid", "filterModel"), Input("ov-signups", "clickData"),
                  prevent_initial_call=True)
    def drill(click):
        day = click["points"][0]["x"] if click else None
        if not day:
            return {}
        return {"signup_date": {"filterType": "date", "type": "equals", "dateFrom": day}}

    register_grid(app, "ov-grid", "marts.dim_users", ROLES)
