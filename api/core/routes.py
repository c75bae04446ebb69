"""The app's effective routes (full path, methods, route object), as FastAPI resolves them.

Included routers are resolved lazily by FastAPI, so `app.routes` alone does not show the
prefixed paths; metrics, logs and the route-walk test read them from here."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI
from fastapi.routing import APIRoute, iter_route_contexts


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
