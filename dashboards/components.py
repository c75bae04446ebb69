"""Small building blocks shared by the pages: KPI cards, figures, drill-down grids."""

from __future__ import annotations

import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html, no_update

from dashboards import filters as flt
from dashboards.catalog import mart
from dashboards.context import NotPermitted, ctx, require, viewer_scope
from dashboards.grid import GridRequestError, jsonable, page_query
from dashboards.warehouse import QueryRejected, SnapshotMissing

PAGE_SIZE = 100


def kpi(label: str, value, previous, fmt: str = "{:,.0f}") -> html.Div:
    text = "n/a" if value is None else fmt.format(value)
    if value is None or not previous:
        delta, cls = "no previous period", "kpi-delta"
    else:
        change = (value - previous) / previous * 100
        delta = f"{change:+.1f}% vs previous"
        cls = "kpi-delta up" if change >= 0 else "kpi-delta down"
    return html.Div([html.Div(label, className="kpi-label"),
                     html.Div(text, className="kpi-value"),
                     html.Div(delta, className=cls)], className="kpi")


# Figures are plain dicts: building plotly.graph_objects validates every property and costs
# tens of milliseconds per figure, which the callback latency budget cannot afford.
_LAYOUT = {"margin": {"l": 40, "r": 10, "t": 40, "b": 30}, "height": 300,
           "clickmode": "event", "paper_bgcolor": "#fff", "plot_bgcolor": "#fff",
           "xaxis": {"gridcolor": "#eee"}, "yaxis": {"gridcolor": "#eee"}}


def bar(x, y, name: str | None = None, **kw) -> dict:
    return {"type": "bar", "x": list(x), "y": list(y), "name": name, **kw}


def line(x, y, name: str | None = None, **kw) -> dict:
    return {"type": "scatter", "mode": "lines", "x": list(x), "y": list(y), "name": name, **kw}


def figure(traces: list[dict], title: str, **layout) -> dict:
    return {"data": traces, "layout": {**_LAYOUT, "title": {"text": title}, **layout}}


def empty_figure(message: str) -> dict:
    return {"data": [], "layout": {**_LAYOUT, "annotations": [
        {"text": message, "showarrow": False, "x": 0.5, "y": 0.5, "xref": "paper",
         "yref": "paper"}], "xaxis": {"visible": False}, "yaxis": {"visible": False}}}


def graph(id_: str) -> dcc.Graph:
    return dcc.Graph(id=id_, config={"displaylogo": False}, className="chart")


def grid(id_: str, mart_name: str, columns: list[str] | None = None) -> dag.AgGrid:
    m = mart(mart_name)
    cols = columns or list(m.columns)
    kinds = {"BIGINT": "agNumberColumnFilter", "INTEGER": "agNumberColumnFilter",
             "DOUBLE": "agNumberColumnFilter", "DATE": "agDateColumnFilter",
             "TIMESTAMPTZ": "agDateColumnFilter"}
    defs = [{"field": c, "filter": kinds.get(m.columns[c], "agTextColumnFilter"),
             "sortable": True} for c in cols]
    return dag.AgGrid(
        id=id_, columnDefs=defs, rowModelType="infinite",
        defaultColDef={"resizable": True, "floatingFilter": True,
                       "filterParams": {"maxNumConditions": 1}},
        dashGridOptions={"cacheBlockSize": PAGE_SIZE, "maxBlocksInCache": 10,
                         "rowBuffer": 0, "infiniteInitialRowCount": 1},
        style={"height": "420px"}, className="ag-theme-alpine drilldown",
    )


def page_rows(mart_name: str, request: dict, search: str | None,
              cross: dict | None, roles: frozenset[str] | None) -> dict:
    """One page of a drill-down grid for the signed-in viewer (scoped, parameterized)."""
    ident = require(roles)
    m = mart(mart_name)
    rows_sql, count_sql, params = page_query(m, request, flt.from_query(search), cross)
    wh = ctx().warehouse
    scope = viewer_scope(ident)
    page = wh.run(rows_sql, params, scope)
    count_params = {k: v for k, v in params.items() if k not in ("g_limit", "g_offset")}
    total = wh.run(count_sql, count_params, scope).rows[0][0]
    return {"rowData": [{k: jsonable(v) for k, v in r.items()} for r in page.dicts()],
            "rowCount": total}


def register_grid(app, grid_id: str, mart_name: str, roles: frozenset[str] | None,
                  cross_store: str | None = None) -> None:
    inputs = [Input(grid_id, "getRowsRequest")]
    states = [State("url", "search")]
    if cross_store:
        states.append(State(cross_store, "data"))

    @app.callback(Output(grid_id, "getRowsResponse"), *inputs, *states, prevent_initial_call=True)
    def _rows(request, search, cross=None):
        if not request:
            return no_update
        try:
            return page_rows(mart_name, request, search, cross, roles)
        except (NotPermitted, GridRequestError, QueryRejected, SnapshotMissing):
            return {"rowData": [], "rowCount": 0}


def failure_message(exc: Exception) -> str | None:
    """The refusals a callback shows in place of data; None for real errors (re-raised)."""
    if isinstance(exc, (NotPermitted, SnapshotMissing, QueryRejected)):
        return str(exc)
    return None
