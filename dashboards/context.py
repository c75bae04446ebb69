"""What callbacks need from the running app: the viewer (from the server-side session),
their scope, the warehouse and the API client."""

from __future__ import annotations

from dataclasses import dataclass

import flask

from dashboards.auth import ClientFactory, Identity
from dashboards.scope import Scope, scope_for
from dashboards.warehouse import Result, Warehouse


@dataclass
class AppContext:
    warehouse: Warehouse
    api: ClientFactory
    refresh_ms: int
    revalidate_seconds: int = 300


class NotPermitted(Exception):
    pass


def ctx() -> AppContext:
    return flask.current_app.config["EHB_DASH"]


def viewer() -> Identity:
    ident = Identity.from_session(flask.session.get("user"))
    if ident is None:
        raise NotPermitted("not signed in")
    return ident


def viewer_scope(ident: Identity) -> Scope:
    return scope_for(ident.user_id, ident.roles)


def allowed(ident: Identity | None, roles: frozenset[str] | None) -> bool:
    if ident is None:
        return False
    return roles is None or "admin" in ident.roles or bool(set(ident.roles) & roles)


def require(roles: frozenset[str] | None) -> Identity:
    ident = viewer()
    if not allowed(ident, roles):
        raise NotPermitted("this page is not open to your role")
    return ident


def query(sql: str, params: dict | None = None, ident: Identity | None = None) -> Result:
    ident = ident or viewer()
    return ctx().warehouse.run(sql, params or {}, viewer_scope(ident))
