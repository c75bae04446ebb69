"""Support: backlog, SLA attainment and CSAT for the period against the previous one, tickets
opened/resolved and backlog per day (click a day to mark it on the other charts and show its
figures), SLA attainment per day and CSAT per day.

The contract has daily marts only (no ticket-level table), so there is no drill-down grid.
SLA attainment = met / (met + breached); tickets neither met nor breached are still pending.
The marts carry no scope column: scoped viewers get no rows (the page is staff-only anyway).
"""

from __future__ import annotations

from dataclasses import replace

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards.catalog import mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, kpi,
                                   line)
from dashboards.context import query, require
from dashboards.pages._common import ANALYSTS, gate

ROLES = ANALYSTS  # support and analysts (admin implied)
DAILY, CSAT = "marts.fct_support_daily", "marts.fct_csat_daily"
dash.register_page(__name__, path="/support", name="Support", order=45, roles=ROLES,
                   marts=[DAILY, CSAT])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Support"),
        dcc.Store(id="sp-day"),
        html.Div(id="sp-kpis", className="kpis"),
        html.Div(id="sp-selected", className="notice"),
        html.Div([graph("sp-volume"), graph("sp-sla")], className="row"),
        html.Div([graph("sp-csat")], className="row"),
    ])


def _ratio(num, den) -> float | None:
    return None if not den else num / den


def kpis(f: flt.Filters) -> list[tuple[str, float | int | None, float | int | None, str]]:
    """(label, current, previous, format) for the period and the one before it."""
    prev = f.previous()
    where, params = flt.where(mart(DAILY), replace(f, start=prev.start))
    cur = "day >= $cur_start"
    row = query(
        "SELECT "
        + ", ".join(f"sum({c}) FILTER (WHERE {cur}), sum({c}) FILTER (WHERE NOT ({cur}))"
                    for c in ("opened", "resolved", "first_response_met",
                              "first_response_breached", "resolution_met",
                              "resolution_breached"))
        + f", arg_max(backlog, day) FILTER (WHERE {cur}),"
          f" arg_max(backlog, day) FILTER (WHERE NOT ({cur}))"
        + f" FROM {DAILY} WHERE {where}", {**params, "cur_start": f.start}).rows[0]
    v = [0 if x is None else int(x) for x in row[:12]]
    (op, op_p, rs, rs_p, frm, frm_p, frb, frb_p, rm, rm_p, rb, rb_p) = v
    backlog, backlog_p = row[12], row[13]
    where, params = flt.where(mart(CSAT), replace(f, start=prev.start))
    c = query("SELECT sum(csat * responses) FILTER (WHERE rating_date >= $cur_start), "
              "sum(responses) FILTER (WHERE rating_date >= $cur_start), "
              "sum(csat * responses) FILTER (WHERE rating_date < $cur_start), "
              "sum(responses) FILTER (WHERE rating_date < $cur_start) "
              f"FROM {CSAT} WHERE {where}", {**params, "cur_start": f.start}).rows[0]
    pct, num = "{:.1%}", "{:,.0f}"
    return [
        ("Backlog at period end", backlog, backlog_p, num),
        ("Tickets opened", op, op_p, num),
        ("Tickets resolved", rs, rs_p, num),
        ("First response SLA", _ratio(frm, frm + frb), _ratio(frm_p, frm_p + frb_p), pct),
        ("Resolution SLA", _ratio(rm, rm + rb), _ratio(rm_p, rm_p + rb_p), pct),
        ("CSAT (ratings 4-5)", _ratio(c[0], c[1]), _ratio(c[2], c[3]), pct),
    ]


def _marker(day: str | None) -> dict:
    """A vertical line on the clicked day (layout shapes), or nothing."""
    if not day:
        return {}
    return {"shapes": [{"type": "line", "x0": day, "x1": day, "yref": "paper", "y0": 0,
                        "y1": 1, "line": {"color": "#d62728", "dash": "dot"}}]}


def register_callbacks(app) -> None:
    @app.callback(Output("sp-day", "data"), Input("sp-volume", "clickData"),
                  prevent_initial_call=True)
    def pick_day(click):
        return str(click["points"][0]["x"])[:10] if click else None

    @app.callback(Output("sp-kpis", "children"), Output("sp-volume", "figure"),
                  Output("sp-sla", "figure"), Output("sp-csat", "figure"),
                  Output("sp-selected", "children"),
                  Input("url", "search"), Input("sp-day", "data"))
    def charts(search, day):
        try:
            require(ROLES)
            f = flt.from_query(search)
            cards = [kpi(label, cur, prev, fmt) for label, cur, prev, fmt in kpis(f)]
            where, params = flt.where(mart(DAILY), f)
            d = query("SELECT day, opened, resolved, backlog, "
                      "first_response_met::DOUBLE / nullif(first_response_met "
                      "+ first_response_breached, 0) AS fr, "
                      "resolution_met::DOUBLE / nullif(resolution_met + resolution_breached, 0) "
                      f"AS rs FROM {DAILY} WHERE {where} ORDER BY 1", params)
            days = d.column("day")
            volume = figure([bar(days, d.column("opened"), "opened"),
                             bar(days, d.column("resolved"), "resolved"),
                             line(days, d.column("backlog"), "backlog", yaxis="y2")],
                            "Tickets per day and backlog (click a day)",
                            yaxis2={"overlaying": "y", "side": "right", "showgrid": False},
                            **_marker(day))
            sla = figure([line(days, d.column("fr"), "first response"),
                          line(days, d.column("rs"), "resolution")],
                         "SLA attainment by day opened",
                         yaxis={"tickformat": ".0%", "range": [0, 1.05]}, **_marker(day))
            where, params = flt.where(mart(CSAT), f)
            c = query(f"SELECT rating_date, responses, csat FROM {CSAT} WHERE {where} "
                      "ORDER BY 1", params)
            csat = figure([bar(c.column("rating_date"), c.column("responses"), "ratings",
                               yaxis="y2", opacity=0.35),
                           line(c.column("rating_date"), c.column("csat"), "CSAT")],
                          "CSAT (share of ratings 4-5) and ratings per day",
                          yaxis={"tickformat": ".0%", "range": [0, 1.05]},
                          yaxis2={"overlaying": "y", "side": "right", "showgrid": False},
                          **_marker(day))
            note = "Click a day on the tickets chart to mark it"
            if day:
                one = {str(r[0]): r for r in d.rows}.get(day)
                note = (f"{day}: {one[1]} opened, {one[2]} resolved, backlog {one[3]}"
                        if one else f"{day} is outside the period")
            return cards, volume, sla, csat, note
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return ([html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg),
                    empty_figure(msg), msg)
