"""Reports: pick a report definition, fill its parameters, preview the first rows, download
every row as CSV, XLSX, Parquet or PDF (streamed through /download/report/...)."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import ALL, Input, Output, State, dcc, html, no_update

from dashboards.api_client import ApiError, call
from dashboards.context import NotPermitted, require

ROLES = None
dash.register_page(__name__, path="/reports", name="Reports", order=88, roles=ROLES)
_INPUT_TYPE = {"date": "text", "int": "number", "float": "number", "text": "text"}


def layout(**_query):
    return html.Div([
        html.H2("Reports"),
        dcc.Dropdown(id="rp-report", placeholder="choose a report", style={"maxWidth": "40em"}),
        html.P(id="rp-description"),
        html.Div(id="rp-params", className="filterbar"),
        html.Div([html.Button("Preview", id="rp-run")] + [
            html.A(f"Download {fmt.upper()}", id=f"rp-dl-{fmt}", href="", className="download",
                   style={"marginLeft": "1em"}) for fmt in ("csv", "xlsx", "parquet", "pdf")]),
        html.Div(id="rp-preview"),
    ])


def register_callbacks(app) -> None:
    @app.callback(Output("rp-report", "options"), Input("rp-report", "id"))
    def options(_):
        try:
            require(ROLES)
            return [{"label": r["name"], "value": r["id"]} for r in call("GET", "/api/v1/reports")]
        except (NotPermitted, ApiError):
            return []

    @app.callback(Output("rp-description", "children"), Output("rp-params", "children"),
                  Input("rp-report", "value"), prevent_initial_call=True)
    def show(report_id):
        if not report_id:
            return "", []
        try:
            r = call("GET", f"/api/v1/reports/{int(report_id)}")
        except ApiError as exc:
            return exc.message, []
        inputs = []
        for name, spec in r["parameters"].items():
            inputs.append(html.Label([f"{name} ({spec['type']}{', required' if spec.get('required') else ''}) ",
                                      dcc.Input(id={"type": "rp-param", "name": name},
                                                type=_INPUT_TYPE[spec["type"]],
                                                value=r["default_filters"].get(name),
                                                debounce=True)]))
        return r["description"] or r["name"], inputs

    @app.callback([Output(f"rp-dl-{fmt}", "href") for fmt in ("csv", "xlsx", "parquet", "pdf")],
                  Input("rp-report", "value"),
                  Input({"type": "rp-param", "name": ALL}, "value"),
                  State({"type": "rp-param", "name": ALL}, "id"), prevent_initial_call=True)
    def links(report_id, values, ids):
        if not report_id:
            return [""] * 4
        params = {i["name"]: v for i, v in zip(ids, values) if v not in (None, "")}
        qs = ("?" + urlencode(params)) if params else ""
        return [f"/download/report/{int(report_id)}.{fmt}{qs}"
                for fmt in ("csv", "xlsx", "parquet", "pdf")]

    @app.callback(Output("rp-preview", "children"), Input("rp-run", "n_clicks"),
                  State("rp-report", "value"), State({"type": "rp-param", "name": ALL}, "value"),
                  State({"type": "rp-param", "name": ALL}, "id"), prevent_initial_call=True)
    def preview(_n, report_id, values, ids):
        if not report_id:
            return no_update
        params = {i["name"]: v for i, v in zip(ids, values) if v not in (None, "")}
        try:
            out = call("POST", f"/api/v1/reports/{int(report_id)}/run",
                       json={"parameters": params, "limit": 100})
        except ApiError as exc:
            return html.Div(f"refused: {exc.message}", className="error", id="rp-error")
        head = html.Tr([html.Th(c) for c in out["columns"]])
        rows = [html.Tr([html.Td("" if v is None else str(v)) for v in r]) for r in out["rows"]]
        note = " (first 100)" if out["truncated"] else ""
        return html.Div([html.P(f"{out['row_count']} rows{note}", id="rp-count"),
                         html.Table([head, *rows], id="rp-table")])
