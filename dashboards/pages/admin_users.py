"""User management (admins): search users and change roles or disable accounts through the
API's /api/v1/users endpoints with the admin's own token."""

from __future__ import annotations

import dash
import dash_ag_grid as dag
from dash import Input, Output, State, dcc, html, no_update

from dashboards.api_client import ApiError, call
from dashboards.context import NotPermitted, require
from dashboards.pages._common import gate

ROLES = frozenset()  # admins only (admin is implied everywhere)
ALL_ROLES = ["admin", "analyst", "support", "seller", "affiliate", "franchisee", "customer"]
dash.register_page(__name__, path="/admin/users", name="User management", order=80,
                   roles=ROLES)


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("User management"),
        dag.AgGrid(
            id="um-grid", rowModelType="infinite",
            columnDefs=[{"field": "id"}, {"field": "email", "filter": "agTextColumnFilter",
                                          "filterParams": {"filterOptions": ["contains"],
                                                           "maxNumConditions": 1}},
                        {"field": "roles"}, {"field": "is_active"},
                        {"field": "email_verified"}, {"field": "mfa_enabled"},
                        {"field": "created_at"}],
            defaultColDef={"resizable": True, "sortable": False},
            dashGridOptions={"cacheBlockSize": 50, "rowSelection": {"mode": "singleRow"}},
            style={"height": "360px"}, className="ag-theme-alpine"),
        html.Div([
            dcc.Input(id="um-user", type="number", placeholder="user id"),
            dcc.Checklist(id="um-roles", options=ALL_ROLES, value=[], inline=True),
            html.Button("Save roles", id="um-save"),
            html.Button("Disable", id="um-disable"),
            html.Button("Enable", id="um-enable"),
        ], className="filterbar"),
        html.Div(id="um-result"),
    ])


def register_callbacks(app) -> None:
    @app.callback(Output("um-grid", "getRowsResponse"), Input("um-grid", "getRowsRequest"),
                  prevent_initial_call=True)
    def rows(request):
        try:
            require(ROLES)
            start = int(request.get("startRow") or 0)
            limit = min(int(request.get("endRow") or start + 50) - start, 200)
            params = {"limit": max(limit, 1), "offset": start}
            email = (request.get("filterModel") or {}).get("email", {}).get("filter")
            if email:
                params["email"] = email
            page = call("GET", "/api/v1/users", params=params)
        except (NotPermitted, ApiError):
            return {"rowData": [], "rowCount": 0}
        items = [{**u, "roles": ", ".join(u["roles"])} for u in page["items"]]
        return {"rowData": items, "rowCount": page["total"]}

    @app.callback(Output("um-user", "value"), Output("um-roles", "value"),
                  Input("um-grid", "selectedRows"), prevent_initial_call=True)
    def pick(selected):
        if not selected:
            return no_update, no_update
        user = selected[0]
        return user["id"], [r.strip() for r in user["roles"].split(",") if r.strip()]

    @app.callback(Output("um-result", "children"),
                  Input("um-save", "n_clicks"), Input("um-disable", "n_clicks"),
                  Input("um-enable", "n_clicks"), State("um-user", "value"),
                  State("um-roles", "value"), prevent_initial_call=True)
    def act(_s, _d, _e, user_id, roles):
        try:
            require(ROLES)
            if not user_id:
                return "pick a user first"
            action = dash.ctx.triggered_id
            if action == "um-save":
                user = call("PUT", f"/api/v1/users/{int(user_id)}/roles", json={"roles": roles})
            else:
                verb = "disable" if action == "um-disable" else "enable"
                user = call("POST", f"/api/v1/users/{int(user_id)}/{verb}")
            return (f"{user['email']}: roles {', '.join(user['roles'])}, "
                    f"{'active' if user['is_active'] else 'disabled'}")
        except NotPermitted as exc:
            return str(exc)
        except ApiError as exc:
            return f"refused: {exc.message}"
