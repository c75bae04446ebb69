"""Settings: who is signed in, their roles and data scope, and the page refresh rate."""

from __future__ import annotations

import dash
from dash import html

from dashboards.context import ctx, viewer, viewer_scope
from dashboards.csrf import sign_out_form
from dashboards.pages._common import gate

ROLES = None
dash.register_page(__name__, path="/settings", name="Settings", order=90, roles=ROLES)


def layout(**_query):
    refused = gate(ROLES)
    if refused:
        return refused
    ident = viewer()
    scope = viewer_scope(ident)
    scope_text = ("all rows" if scope.unrestricted else
                  "; ".join(f"{kind}: {', '.join(map(str, ids)) or 'none'}"
                            for kind, ids in scope.ids))
    wh = ctx().warehouse
    return html.Div([
        html.H2("Settings"),
        html.Table([
            html.Tr([html.Th("Signed in as"), html.Td(ident.email, id="set-email")]),
            html.Tr([html.Th("Roles"), html.Td(", ".join(ident.roles), id="set-roles")]),
            html.Tr([html.Th("Data scope"), html.Td(scope_text, id="set-scope")]),
            html.Tr([html.Th("Snapshot"), html.Td(str(wh.path))]),
            html.Tr([html.Th("Live pages refresh every"),
                     html.Td(f"{ctx().refresh_ms / 1000:g} s (DASH_REFRESH_MS)")]),
        ]),
        html.P(sign_out_form("settings-sign-out")),
    ])


def register_callbacks(app) -> None:
    return None
