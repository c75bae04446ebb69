"""Overview: headline KPIs for the period against the previous one (users, security and, when
the finance marts exist, GMV, revenue, refunds and wallet float in one currency), refreshed
every few seconds, and the daily sign-up trend (click a day to drill into that day's users)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards import money
from dashboards.catalog import mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, grid,
                                   kpi, line, register_grid)
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


KPI_SOURCES = [
    ("marts.fct_signups_daily", [("New users", "new_users"),
                                 ("Verified new users", "verified_users")]),
    ("marts.fct_login_failures_daily", [("Login failures", "login_failures"),
                                        ("Lockouts", "lockouts")]),
]


def _period_sums(table: str, columns: list[str], f: flt.Filters) -> list[tuple]:
    """(current, previous) sums of each column in one scan over both periods."""
    m = mart(table)
    prev = f.previous()
    where, params = flt.where(m, replace(f, start=prev.start))
    day = f'"{m.date_column}"'
    parts = []
    for col in columns:
        parts.append(f'sum("{col}") FILTER (WHERE {day} >= $cur_start)')
        parts.append(f'sum("{col}") FILTER (WHERE {day} < $cur_start)')
    row = query(f"SELECT {', '.join(parts)} FROM {table} WHERE {where}",
                {**params, "cur_start": f.start}).rows[0]
    as_int = [None if v is None else int(v) for v in row]
    return [(as_int[2 * i], as_int[2 * i + 1]) for i in range(len(columns))]


def _utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def kpis(f: flt.Filters) -> list[tuple[str, int | None, int | None]]:
    out = []
    for table, items in KPI_SOURCES:
        sums = _period_sums(table, [col for _, col in items], f)
        out += [(label, cur, prev) for (label, _), (cur, prev) in zip(items, sums)]
    prev = f.previous()
    # Compare the timestamp with UTC day bounds: casting TIMESTAMPTZ to DATE per row goes
    # through time zone conversion and costs ~40x more on millions of users.
    seen = query("SELECT count(*) FILTER (WHERE last_session_at >= $s), "
                 "count(*) FILTER (WHERE last_session_at < $s) FROM marts.dim_users "
                 "WHERE last_session_at >= $ps AND last_session_at < $e",
                 {"s": _utc(f.start), "e": _utc(f.end + timedelta(days=1)),
                  "ps": _utc(prev.start)})
    cur, before = seen.rows[0]
    out.append(("Users last seen in period", cur, before))
    return out


def money_kpis(f: flt.Filters) -> tuple[str | None, list[tuple[str, object, object]]]:
    """(currency, [(label, current, previous)]) of GMV, revenue, refunds and wallet float in
    one currency: the filter's, else the period's largest by GMV. None when the snapshot has
    no payments mart or the viewer sees no payments (scoped viewers: the mart has no scope)."""
    from dashboards.pages import payments, wallets

    present = ctx().warehouse.marts()
    if payments.PAYMENTS not in present:
        return None, []
    currency = f.currency
    if currency is None:
        where, params = flt.where(mart(payments.PAYMENTS), f)
        top = query(f"SELECT currency FROM {payments.PAYMENTS} WHERE {where} GROUP BY 1 "
                    "ORDER BY sum(purchase_captured) DESC, 1 LIMIT 1", params).rows
        if not top:
            return None, []
        currency = top[0][0]
    s = payments.period_sums(f, currency)
    if not s["intents"][0] and not s["intents"][1]:
        return None, []

    def amount(col):
        return tuple(money.major(v, currency) for v in s[col])

    out = [("GMV", *amount("purchase_captured")), ("Revenue (fees)", *amount("fees")),
           ("Refunds", *amount("refunded"))]
    if wallets.BALANCES in present:  # current state: no previous period to compare with
        out.append(("Wallet float", money.major(wallets.balances(currency)["float"], currency),
                    None))
    return currency, out


def register_callbacks(app) -> None:
    @app.callback(Output("ov-kpis", "children"), Output("ov-signups", "figure"),
                  Output("ov-security", "figure"),
                  Input("ov-tick", "n_intervals"), Input("url", "search"))
    def refresh(_n, search):
        try:
            require(ROLES)
            f = flt.from_query(search)
            cards = [kpi(label, v, p) for label, v, p in kpis(f)]
            currency, amounts = money_kpis(f)
            cards += [kpi(f"{label} ({currency})", v, p, money.fmt(currency))
                      for label, v, p in amounts]
            where, params = flt.where(mart("marts.fct_signups_daily"), f)
            s = query("SELECT signup_date, new_users, verified_users FROM "
                      f"marts.fct_signups_daily WHERE {where} ORDER BY 1", params)
            signups = figure([bar(s.column("signup_date"), s.column("new_users"), "new users"),
                              line(s.column("signup_date"), s.column("verified_users"),
                                   "verified")],
                             "Sign-ups per day")
            where, params = flt.where(mart("marts.fct_login_failures_daily"), f)
            sec = query("SELECT event_date, login_failures, lockouts FROM "
                        f"marts.fct_login_failures_daily WHERE {where} ORDER BY 1", params)
            security = figure([line(sec.column("event_date"), sec.column("login_failures"),
                                    "login failures"),
                               line(sec.column("event_date"), sec.column("lockouts"),
                                    "lockouts")], "Login failures and lockouts")
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
