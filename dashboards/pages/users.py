"""Users and growth: users by role (click a role to filter the table), weekly retention
cohorts, and every user as a drill-down table."""

from __future__ import annotations

import dash
from dash import Input, Output, html

from dashboards import filters as flt
from dashboards.catalog import mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, grid,
                                   register_grid)
from dashboards.context import query, require
from dashboards.pages._common import ANALYSTS, gate

ROLES = ANALYSTS
dash.register_page(__name__, path="/users", name="Users", order=10, roles=ROLES,
                   marts=["marts.dim_users", "marts.user_retention_weekly"])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Users and growth"),
        html.Div([graph("us-roles"), graph("us-retention")], className="row"),
        html.H3("Users (click a role above to filter)"),
        grid("us-grid", "marts.dim_users"),
    ])


def register_callbacks(app) -> None:
    @app.callback(Output("us-roles", "figure"), Output("us-retention", "figure"),
                  Input("url", "search"))
    def charts(search):
        try:
            require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart("marts.dim_users"), f)
            roles = query("SELECT primary_role, count(*) AS n, count(*) FILTER (WHERE "
                          f"is_mfa_enabled) AS mfa FROM marts.dim_users WHERE {where} "
                          "GROUP BY 1 ORDER BY 2 DESC", params)
            fig_roles = figure([bar(roles.column("primary_role"), roles.column("n"), "users"),
                                bar(roles.column("primary_role"), roles.column("mfa"),
                                    "with MFA")], "Users signed up in period, by role")
            where, params = flt.where(mart("marts.user_retention_weekly"), f)
            ret = query("SELECT cohort_week, week_number, retention_rate FROM "
                        f"marts.user_retention_weekly WHERE {where} ORDER BY 1, 2", params)
            weeks = sorted(set(ret.column("week_number")))
            cohorts = sorted(set(ret.column("cohort_week")))
            cell = {(c, w): r for c, w, r in ret.rows}
            z = [[cell.get((c, w)) for w in weeks] for c in cohorts]
            fig_ret = figure([{"type": "heatmap", "z": z, "x": [f"week {w}" for w in weeks],
                              "y": [str(c) for c in cohorts], "colorscale": "Blues",
                              "zmin": 0, "zmax": 1}], "Weekly retention by cohort")
            return fig_roles, fig_ret
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return empty_figure(msg), empty_figure(msg)

    @app.callback(Output("us-grid", "filterModel"), Input("us-roles", "clickData"),
                  prevent_initial_call=True)
    def drill(click):
        role = click["points"][0]["x"] if click else None
        return {"primary_role": {"filterType": "text", "type": "equals", "filter": role}} \
            if role else {}

    register_grid(app, "us-grid", "marts.dim_users", ROLES)
