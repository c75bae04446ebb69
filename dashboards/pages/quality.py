"""Data quality and pipeline health: the latest result of every Dagster asset check (GX gate,
reconciliation, dbt tests) and the last pipeline runs, read from the Dagster instance storage
(dashboards.pipeline_status: bounded, cached, works with Dagster stopped); quarantined rows by
table, open and released (a later batch fixed them), click a table to filter; quarantined and
released per day; freshness of each mart and of the snapshot itself."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards.catalog import MARTS, mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, grid,
                                   register_grid)
from dashboards import pipeline_status
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
        html.H3("Asset checks (latest result of each) and last runs"),
        html.Div(id="dq-check-kpis", className="kpis"),
        html.Div([graph("dq-checks"), graph("dq-runs")], className="row"),
        html.Div(id="dq-check-table"),
        html.Div(id="dq-run-table"),
        html.Div([graph("dq-by-table"), graph("dq-daily")], className="row"),
        html.H3("Quarantined rows (click a table above to filter)"),
        grid("dq-grid", "ops.quarantine"),
    ])


# One row per quarantined row version (table, pk, batch) with how many records are still open.
_ROWS_SQL = ("SELECT table_name, row_pk, batch_id, count(*) FILTER (WHERE released_at IS NULL) "
             "AS open_records FROM ops.quarantine WHERE {where} GROUP BY 1, 2, 3")
_STATUS = "CASE WHEN open_records > 0 THEN 'open' ELSE 'released' END"


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


def _card(label: str, value: str, id_: str | None = None) -> html.Div:
    inner = html.Div(value, className="kpi-value", style={"fontSize": "1em"},
                     **({"id": id_} if id_ else {}))
    return html.Div([html.Div(label, className="kpi-label"), inner], className="kpi")


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S UTC") if ts else "—"


def _kind(check: str) -> str:
    return check if check in ("gx_suite", "reconcile_daily") else "dbt test"


def _table(header: list[str], rows: list[list], id_: str) -> html.Table:
    return html.Table([html.Thead(html.Tr([html.Th(h) for h in header])),
                       html.Tbody([html.Tr([html.Td(str(c)) for c in r]) for r in rows])],
                      id=id_, className="status-table")


def pipeline_health(max_rows: int = 50) -> tuple[list, dict, dict, list, list]:
    """KPI cards, checks by kind and result, run durations, and the check and run tables."""
    from dashboards.components import kpi

    st = pipeline_status.status()
    if st.error and not st.checks and not st.runs:
        note = [html.Div(st.error, className="notice", id="dq-dagster-note")]
        return note, empty_figure(st.error), empty_figure(st.error), [], []
    counts: dict[tuple[str, str], int] = {}
    for c in st.checks:
        counts[(_kind(c.check), c.status)] = counts.get((_kind(c.check), c.status), 0) + 1
    kinds = ["gx_suite", "reconcile_daily", "dbt test"]
    colors = {"passed": "#2ca02c", "failed": "#d62728", "running": "#1f77b4",
              "not run": "#999"}
    fig_checks = figure([bar(kinds, [counts.get((k, s), 0) for k in kinds], s,
                             marker={"color": col}) for s, col in colors.items()],
                        "Asset checks by kind, latest result", barmode="stack")
    runs = list(reversed(st.runs))
    fig_runs = figure([bar([_when(r.started)[:16] for r in runs],
                           [round(r.seconds or 0, 1) for r in runs], "seconds",
                           marker={"color": ["#2ca02c" if r.status == "SUCCESS" else "#d62728"
                                             for r in runs]},
                           text=[r.status for r in runs])],
                      "Last runs: duration in seconds (red: not a success)")
    failed = [c for c in st.checks if c.status == "failed"]
    errors = sum(1 for c in failed if c.severity == "ERROR")
    last = st.runs[0] if st.runs else None
    cards = [kpi("Checks passing", sum(c.status == "passed" for c in st.checks), None),
             kpi("Checks failing", len(failed), None),
             kpi("of which blocking (ERROR)", errors, None),
             html.Div([html.Div("Last run", className="kpi-label"),
                       html.Div(f"{last.status} · {_when(last.started)}" if last else "none",
                                className="kpi-value", style={"fontSize": "1em"},
                                id="dq-last-run")], className="kpi")]
    check_rows = [[("✗ " if c.status == "failed" else "✓ " if c.status == "passed" else "")
                   + c.status, c.severity, c.asset, c.check, _when(c.at), c.summary]
                  for c in st.checks[:max_rows]]
    run_rows = [[r.run_id[:8], r.job, r.status, _when(r.started),
                 f"{r.seconds:.1f} s" if r.seconds is not None else "—"] for r in st.runs]
    more = len(st.checks) - len(check_rows)
    check_table = [_table(["result", "severity", "asset", "check", "when", "metadata"],
                          check_rows, "dq-checks-table"),
                   html.Div(f"failing first; {more} more passing checks in the Dagster UI"
                            if more > 0 else "", className="notice")]
    return cards, fig_checks, fig_runs, check_table, [
        _table(["run", "job", "status", "started", "duration"], run_rows, "dq-runs-table")]


def register_callbacks(app) -> None:
    pipeline_status.warm_up()

    @app.callback(Output("dq-check-kpis", "children"), Output("dq-checks", "figure"),
                  Output("dq-runs", "figure"), Output("dq-check-table", "children"),
                  Output("dq-run-table", "children"), Input("dq-tick", "n_intervals"))
    def health(_n):
        try:
            require(ROLES)
            return pipeline_health()
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return [html.Div(msg, className="notice")], empty_figure(msg), \
                empty_figure(msg), [], []

    @app.callback(Output("dq-freshness", "children"), Output("dq-by-table", "figure"),
                  Output("dq-daily", "figure"), Input("url", "search"),
                  Input("dq-tick", "n_intervals"))
    def charts(search, _n):
        try:
            require(ROLES)
            f = flt.from_query(search)
            cards = [_card(k, v) for k, v in freshness()]
            where, params = flt.where(mart("ops.quarantine"), f)
            # a row (version) is open while any of its records is not released: the same rule
            # as the pipeline's open_quarantine, which keeps the table's marts from building
            by = query(f"SELECT table_name, {_STATUS} AS status, count(*) AS n FROM "
                       f"({_ROWS_SQL.format(where=where)}) GROUP BY 1, 2 ORDER BY 1, 2", params)
            totals = {s: sum(r[2] for r in by.rows if r[1] == s) for s in ("open", "released")}
            cards += [_card(f"quarantined rows {s}", f"{n:,}", f"dq-{s}")
                      for s, n in totals.items()]
            traces = []
            for status, color in (("open", "#d62728"), ("released", "#2ca02c")):
                rows = [r for r in by.rows if r[1] == status]
                traces.append(bar([r[0] for r in rows], [r[2] for r in rows], status,
                                  marker={"color": color}))
            fig_by = figure(traces, "Quarantined rows by table: open and released "
                                    "(click to filter)", barmode="stack")
            daily = query("SELECT d, sum(q) AS quarantined, sum(r) AS released FROM ("
                          "SELECT CAST(quarantined_at AS DATE) AS d, 1 AS q, 0 AS r "
                          f"FROM ops.quarantine WHERE {where} UNION ALL "
                          "SELECT CAST(released_at AS DATE), 0, 1 FROM ops.quarantine "
                          f"WHERE released_at IS NOT NULL AND {where}) GROUP BY 1 ORDER BY 1",
                          params)
            fig_daily = figure([bar(daily.column("d"), daily.column("quarantined"),
                                    "quarantined", marker={"color": "#d62728"}),
                                bar(daily.column("d"), daily.column("released"), "released",
                                    marker={"color": "#2ca02c"})],
                               "Quarantine records per day: quarantined and released")
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
