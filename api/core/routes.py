"""The app's effective routes (full path, methods, route object), as FastAPI resolves them.

Included routers are resolved lazily by FastAPI, so `app.routes` alone does not show the
prefixed paths; metrics, logs and the route-walk test read them from here."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts
from starlette._utils import get_route_path
from starlette.routing import Match


@dataclass(frozen=True)
class RouteInfo:
    path: str
    methods: frozenset[str]
    route: object  # the original route object (APIRoute for API endpoints)

    @property
    def is_api(self) -> bool:
        return isinstance(self.route, APIRoute)


def route_table(app: FastAPI) -> list[RouteInfo]:
    table = []
    for ctx in iter_route_contexts(app.routes):
        if ctx.path is None:
            continue
        table.append(RouteInfo(ctx.path_format or ctx.path, frozenset(ctx.methods or ()),
                               ctx.original_route))
    return table


class RoutePaths:
    """Maps the route object Starlette puts in scope["route"] to its full path template."""

    def __init__(self, app: FastAPI):
        self._app = app
        self._paths: dict[int, str] | None = None

    def of(self, route: object | None) -> str:
        if route is None:
            return "unmatched"
        if self._paths is None:
            self._paths = {id(r.route): r.path for r in route_table(self._app)}
        return self._paths.get(id(route)) or getattr(route, "path", "unmatched")


def skip_routers_by_prefix(app: FastAPI) -> int:
    """Route matching: FastAPI tries a request against every route of every included router
    in turn, a regex each (about 140 for a route of the last-mounted domain, twice per
    request). Every domain router has a literal path prefix of its own, so a router whose
    prefix the path does not start with cannot match: answer NONE without scanning it. The
    order and outcome of matching are unchanged. Returns how many routers were guarded."""
    guarded = 0
    for route in app.router.routes:
        router = getattr(route, "original_router", None)
        context = getattr(route, "include_context", None)
        if router is None or context is None:
            continue
        prefix = (context.prefix or "") + (router.prefix or "")
        if not prefix or "{" in prefix:
            continue
        route.matches = _prefix_guard(route.matches, prefix)
        guarded += 1
    return guarded


def _prefix_guard(matches, prefix: str):
    def guarded(scope):
        if get_route_path(scope).startswith(prefix):
            return matches(scope)
        return Match.NONE, {}

    return guarded
