"""Data quality and pipeline health: quarantined rows by table and expectation (click a
table to filter), quarantine per day, freshness of each mart and of the snapshot itself."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards.catalog import MARTS, mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, grid,
                                   register_grid)
from dashboards.context import ctx, query, require
from dashboards.pages._common import OPERATORS, gate

ROLES = OPERATORS
dash.register_page(__name__, path="/data-quality", name="Data quality", order=50, roles=ROLES,
                   marts=["ops.quarantine"])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Data quality and pipeline health"),
        dcc.Interval(id="dq-tick", interval=max(ctx().refresh_ms, 10_000)),
        html.Div(id="dq-freshness", className="kpis"),
        html.Div([graph("dq-by-table"), graph("dq-daily")], className="row"),
        html.H3("Quarantined rows (click a table above to filter)"),
        grid("dq-grid", "ops.quarantine"),
    ])


def freshness() -> list[tuple[str, str]]:
    wh = ctx().warehouse
    published = datetime.fromtimestamp(os.stat(wh.path).st_mtime, UTC)
    out = [("snapshot published", published.strftime("%Y-%m-%d %H:%M UTC"))]
    present = wh.marts()
    out.append(("contract", "; ".join(wh.contract_problems) or "snapshot matches the contract"))
    for name, m in MARTS.items():
        if name in present and m.date_column:
            latest = query(f'SELECT max("{m.date_column}") FROM {name}').rows[0][0]
            out.append((name, str(latest)[:16] if latest is not None else "empty"))
    return out


def register_callbacks(app) -> None:
    @app.callback(Output("dq-freshness", "children"), Output("dq-by-table", "figure"),
                  Output("dq-daily", "figure"), Input("url", "search"),
                  Input("dq-tick", "n_intervals"))
    def charts(search, _n):
        try:
            require(ROLES)
            f = flt.from_query(search)
            cards = [html.Div([html.Div(k, className="kpi-label"),
                               html.Div(v, className="kpi-value", style={"fontSize": "1em"})],
                              className="kpi") for k, v in freshness()]
            where, params = flt.where(mart("ops.quarantine"), f)
            by = query("SELECT table_name, expectation, count(*) AS n FROM ops.quarantine "
                       f"WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", params)
            traces = []
            for exp in sorted(set(by.column("expectation"))):
                rows = [r for r in by.rows if r[1] == exp]
                traces.append(bar([r[0] for r in rows], [r[2] for r in rows], exp))
            fig_by = figure(traces, "Quarantined rows by table (click to filter)",
                            barmode="stack", showlegend=False)
            daily = query("SELECT CAST(quarantined_at AS DATE) AS d, count(*) AS n FROM "
                          f"ops.quarantine WHERE {where} GROUP BY 1 ORDER BY 1", params)
            fig_daily = figure([bar(daily.column("d"), daily.column("n"))],
                               "Quarantined rows per day")
            return cards, fig_by, fig_daily
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return [html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg)

    @app.callback(Output("dq-grid", "filterModel"), Input("dq-by-table", "clickData"),
                  prevent_initial_call=True)
    def drill(click):
        table = click["points"][0]["x"] if click else None
        return {"table_name": {"filterType": "text", "type": "equals", "filter": table}} \
            if table else {}

    register_grid(app, "dq-grid", "ops.quarantine", ROLES)
