"""The route walk: every API route of the app either declares exactly one permission through
`api.auth.dependencies.require` (anonymous -> 401, a role lacking it -> 403) or is on the
short explicit public list below. A route added without either fails this test.

Other domains extend PUBLIC_ROUTES at merge time (e.g. HMAC-verified payment webhooks)."""

from __future__ import annotations

import typing
import uuid
from dataclasses import dataclass
from datetime import date, datetime

import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRoute

from api.core.routes import route_table

# (method, full path) reachable without a bearer token. Keep this short and explicit.
PUBLIC_ROUTES: frozenset[tuple[str, str]] = frozenset({
    ("GET", "/health"),
    ("GET", "/health/{service}"),
    ("GET", "/metrics"),
    ("POST", "/api/v1/auth/register"),
    ("POST", "/api/v1/auth/verify-email"),
    ("POST", "/api/v1/auth/verify-email/resend"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
    ("POST", "/api/v1/auth/password/forgot"),
    ("POST", "/api/v1/auth/password/reset"),
    # The payment provider calls this; it is HMAC-signed, time-boxed and deduplicated instead.
    ("POST", "/api/v1/payments/webhooks/{provider}"),
})
# WebSocket routes authenticate the access token in the handshake themselves; each must
# refuse an anonymous connection (test_websockets_refuse_anonymous_connections).
TOKEN_CHECKED_WEBSOCKETS: frozenset[str] = frozenset({"/api/v1/notifications/ws"})
# Non-API (plain Starlette) routes allowed in the app: FastAPI's own docs.
PUBLIC_NON_API_PATHS: frozenset[str] = frozenset({"/openapi.json", "/docs",
                                                   "/docs/oauth2-redirect"})

# Ids that match no row: roles that hold a permission call the route for real, and must not
# change other tests' data (e.g. POST /users/{id}/disable).
_PLACEHOLDERS = {int: "999999999", str: "x", uuid.UUID: str(uuid.UUID(int=1)), float: "1.0",
                 bool: "true", date: "2026-01-01", datetime: "2026-01-01T00:00:00Z"}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    route: APIRoute
    permissions: tuple  # the distinct Permission objects its dependencies declare


def _permission_deps(dependant, seen: set[int] | None = None) -> list:
    from api.auth.dependencies import PermissionDependency

    seen = set() if seen is None else seen
    found = []
    for sub in dependant.dependencies:
        if isinstance(sub.call, PermissionDependency) and id(sub.call) not in seen:
            seen.add(id(sub.call))
            found.append(sub.call.permission)
        found.extend(_permission_deps(sub, seen))
    return found


def _path_params(dependant) -> dict[str, object]:
    params = {p.name: p.field_info.annotation for p in dependant.path_params}
    for sub in dependant.dependencies:
        params.update(_path_params(sub))
    return params


def _placeholder(annotation) -> str:
    if typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    for kind, value in _PLACEHOLDERS.items():
        if annotation is kind or (isinstance(annotation, type) and issubclass(annotation, kind)):
            return value
    return "x"


def concrete_path(route: APIRoute, path: str) -> str:
    for name, annotation in _path_params(route.dependant).items():
        path = path.replace("{" + name + "}", _placeholder(annotation))
    return path


def classify(app: FastAPI) -> tuple[list[Endpoint], list[Endpoint], list[str]]:
    """(guarded, public, problems) for the app's routes."""
    guarded, public, problems = [], [], []
    for info in route_table(app):
        if not info.is_api:
            if info.path not in PUBLIC_NON_API_PATHS | TOKEN_CHECKED_WEBSOCKETS:
                problems.append(f"{info.path}: not an APIRoute and not an allowed docs route")
            continue
        for method in sorted(info.methods - {"HEAD", "OPTIONS"}):
            perms = tuple(_permission_deps(info.route.dependant))
            endpoint = Endpoint(method, info.path, info.route, perms)
            if (method, info.path) in PUBLIC_ROUTES:
                public.append(endpoint)
            elif not perms:
                problems.append(f"{method} {info.path}: no permission dependency and not public")
            elif len({p.name for p in perms}) > 1:
                problems.append(f"{method} {info.path}: more than one permission "
                                f"({', '.join(sorted(p.name for p in perms))})")
            else:
                guarded.append(endpoint)
    return guarded, public, problems


def test_every_route_is_guarded_or_explicitly_public(app):
    guarded, public, problems = classify(app)
    assert problems == []
    assert {(e.method, e.path) for e in public} == set(PUBLIC_ROUTES), \
        "a PUBLIC_ROUTES entry matches no route: remove it"
    paths = {e.path for e in guarded}
    assert {"/api/v1/auth/me", "/api/v1/auth/logout", "/api/v1/users",
            "/api/v1/users/{user_id}/disable"} <= paths


def test_anonymous_gets_401_and_roles_lacking_the_permission_get_403(app, client, make_user,
                                                                    auth_headers):
    from api.core.permissions import Role

    guarded, _, _ = classify(app)
    users = {role: make_user(roles=[role.value])[0] for role in Role}
    checked_403 = 0
    for e in guarded:
        path = concrete_path(e.route, e.path)
        r = client.request(e.method, path)
        assert r.status_code == 401, f"{e.method} {e.path} anonymous -> {r.status_code} {r.text}"
        assert r.json()["error"]["code"] == "unauthorized"
        permission = e.permissions[0]
        for role, user in users.items():
            r = client.request(e.method, path, headers=auth_headers(user))
            if role in permission.roles:
                assert r.status_code != 403, f"{e.method} {e.path}: {role} should be allowed"
            else:
                assert r.status_code == 403, f"{e.method} {e.path} as {role} -> {r.status_code}"
                assert r.json()["error"]["details"] == {"permission": permission.name}
                checked_403 += 1
    assert checked_403 >= 5 * 6  # the admin routes at least, for each non-admin role


def test_websockets_refuse_anonymous_connections(app, client):
    from starlette.websockets import WebSocketDisconnect

    present = {info.path for info in route_table(app) if not info.is_api}
    assert TOKEN_CHECKED_WEBSOCKETS <= present, "a TOKEN_CHECKED_WEBSOCKETS entry matches no route"
    for path in TOKEN_CHECKED_WEBSOCKETS:
        for url in (path, f"{path}?token=not-a-token"):
            with pytest.raises(WebSocketDisconnect) as closed:
                with client.websocket_connect(url) as ws:
                    ws.send_json({"type": "auth", "token": "not-a-token"})
                    for _ in range(3):  # an error message may precede the close
                        assert ws.receive_json().get("type") != "ready"
            assert closed.value.code == 4401, f"{url} closed with {closed.value.code}"


def test_public_routes_answer_anonymously(app, client):
    _, public, _ = classify(app)
    for e in public:
        r = client.request(e.method, concrete_path(e.route, e.path))
        assert r.status_code not in (401, 403) and r.status_code < 500, \
            f"{e.method} {e.path} -> {r.status_code}"


def test_the_walk_catches_a_route_without_permission():
    """The check itself can fail: an app with an unguarded route is reported."""
    from api.auth.dependencies import require
    from api.core.permissions import AUTHENTICATED, Role, permission

    toy = FastAPI()
    one = permission("toy:one", Role.analyst)
    two = permission("toy:two", Role.seller)

    @toy.get("/api/v1/toy/open")
    def open_route() -> dict:
        return {}

    @toy.get("/api/v1/toy/mine")
    def mine(principal=Depends(require(AUTHENTICATED))) -> dict:
        return {}

    @toy.get("/api/v1/toy/double")
    def double(a=Depends(require(one)), b=Depends(require(two))) -> dict:
        return {}

    guarded, _, problems = classify(toy)
    assert [e.path for e in guarded] == ["/api/v1/toy/mine"]
    assert any("/api/v1/toy/open: no permission" in p for p in problems)
    assert any("/api/v1/toy/double: more than one permission" in p for p in problems)


@pytest.mark.parametrize("annotation, expected", [(int, "999999999"), (str, "x"),
                                                  (uuid.UUID, str(uuid.UUID(int=1)))])
def test_placeholders_fit_the_parameter_type(annotation, expected):
    assert _placeholder(annotation) == expected
