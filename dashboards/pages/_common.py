"""Helpers the page modules share."""

from __future__ import annotations

import flask
from dash import html

from dashboards.auth import Identity
from dashboards.context import allowed

ANALYSTS = frozenset({"analyst", "support"})
OPERATORS = frozenset({"analyst"})


def gate(roles: frozenset[str] | None):
    """None when the signed-in viewer may open the page, else the refusal to show instead."""
    ident = Identity.from_session(flask.session.get("user")) if flask.has_request_context() else None
    if allowed(ident, roles):
        return None
    return html.Div("This page is not open to your role.", className="notice", id="forbidden")
