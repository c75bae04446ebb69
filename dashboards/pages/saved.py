"""My dashboards: pick charts, save them with the current filters (stored by the analytics
API in PostgreSQL), reopen a saved one later with its own filters."""

from __future__ import annotations

import dash
from dash import Input, Output, State, dcc, html, no_update

from dashboards import filters as flt
from dashboards.api_client import ApiError, call
from dashboards.charts import CHARTS
from dashboards.components import bar, empty_figure, failure_message, figure, line
from dashboards.context import NotPermitted, query, require

ROLES = None
dash.register_page(__name__, path="/saved", name="My dashboards", order=85, roles=ROLES)


def layout(dashboard: str | None = None, **_query):
    return html.Div([
        html.H2("My dashboards"),
        html.Div([
            dcc.Dropdown(id="sv-open", placeholder="open a saved dashboard",
                         value=int(dashboard) if (dashboard or "").isdigit() else None,
                         style={"minWidth": "22em"}),
            html.Button("Reload list", id="sv-reload"),
        ], className="filterbar"),
        html.Div([
            dcc.Input(id="sv-name", placeholder="name", maxLength=120),
            dcc.Checklist(id="sv-charts", options=[{"label": c.title, "value": c.key}
                                                   for c in CHARTS.values()],
                          value=["signups_daily"], inline=True),
            html.Button("Save with current filters", id="sv-save"),
        ], className="filterbar"),
        html.Div(id="sv-result"),
        html.Div(id="sv-board", className="row"),
    ])


def render_chart(key: str, f: flt.Filters) -> dict:
    spec = CHARTS[key]
    sql, params = spec.sql(f)
    try:
        res = query(sql, params)
    except Exception as exc:
        msg = failure_message(exc)
        if msg is None:
            raise
        return empty_figure(msg)
    x = res.column(spec.x)
    if spec.kind == "line":
        traces = [line(x, res.column(y), y) for y in spec.y]
    else:
        traces = [bar(x, res.column(y), y) for y in spec.y]
    return figure(traces, spec.title)


def register_callbacks(app) -> None:
    @app.callback(Output("sv-open", "options"), Input("sv-reload", "n_clicks"),
                  Input("sv-result", "children"))
    def options(_n, _saved):
        try:
            require(ROLES)
            return [{"label": d["name"], "value": d["id"]}
                    for d in call("GET", "/api/v1/analytics/dashboards")]
        except (NotPermitted, ApiError):
            return []

    @app.callback(Output("sv-result", "children"), Input("sv-save", "n_clicks"),
                  State("sv-name", "value"), State("sv-charts", "value"),
                  State("url", "search"), prevent_initial_call=True)
    def save(_n, name, charts, search):
        f = flt.from_query(search)
        body = {"name": (name or "").strip(), "charts": charts or [],
                "filters": {k: v for k, v in f.to_dict().items() if v is not None}}
        try:
            require(ROLES)
            saved = call("POST", "/api/v1/analytics/dashboards", json=body)
        except NotPermitted as exc:
            return str(exc)
        except ApiError as exc:
            return html.Span(f"not saved: {exc.message}", className="error", id="sv-error")
        return html.Span(f"saved “{saved['name']}” (#{saved['id']})", id="sv-saved")

    @app.callback(Output("sv-board", "children"), Output("sv-name", "value"),
                  Output("sv-charts", "value"), Input("sv-open", "value"),
                  prevent_initial_call=True)
    def open_board(dashboard_id):
        if not dashboard_id:
            return [], no_update, no_update
        try:
            require(ROLES)
            d = call("GET", f"/api/v1/analytics/dashboards/{int(dashboard_id)}")
        except (NotPermitted, ApiError) as exc:
            return [html.Div(getattr(exc, "message", str(exc)), className="notice")], \
                no_update, no_update
        f = flt.from_mapping(d["filters"])
        link = dcc.Link("open these filters on the overview", href="/" + f.to_query())
        graphs = [dcc.Graph(id={"type": "sv-chart", "key": key}, figure=render_chart(key, f),
                            className="chart") for key in d["charts"] if key in CHARTS]
        header = html.Div([html.H3(d["name"]),
                           html.P(f"{f.start} – {f.end}"), link], id="sv-header")
        return [header, *graphs], d["name"], d["charts"]
