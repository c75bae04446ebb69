"""Every GoSeller, affiliate and franchise route declares exactly one permission: anonymous
callers get 401, a role without the permission 403."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute

from api.auth.dependencies import PermissionDependency
from api.core.permissions import ALL_ROLES, AUTHENTICATED, Role
from api.core.routes import route_table

PREFIXES = ("/api/v1/goseller", "/api/v1/affiliates", "/api/v1/franchises")


def permissions_of(dependant) -> list:
    found = []
    for dep in dependant.dependencies:
        if isinstance(dep.call, PermissionDependency):
            found.append(dep.call.permission)
        found.extend(permissions_of(dep))
    return found


def my_routes(app):
    routes = [(r.path, sorted(r.methods)[0], r.route) for r in route_table(app)
              if r.is_api and r.path.startswith(PREFIXES)]
    assert len(routes) >= 45
    return routes


def concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


def test_every_route_has_exactly_one_permission(app):
    for path, method, route in my_routes(app):
        assert isinstance(route, APIRoute)
        perms = permissions_of(route.dependant)
        assert len(perms) == 1, (method, path, perms)


def test_anonymous_is_401_everywhere(app, client):
    for path, method, _ in my_routes(app):
        r = client.request(method, concrete(path), json={})
        assert r.status_code == 401, (method, path, r.status_code)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_role_without_permission_is_403(app, client, make_user, auth_headers, prefix):
    checked = 0
    for path, method, route in my_routes(app):
        if not path.startswith(prefix):
            continue
        (perm,) = permissions_of(route.dependant)
        if perm is AUTHENTICATED:
            continue
        lacking = sorted(r for r in ALL_ROLES if r not in perm.roles and r != Role.admin)
        user, _ = make_user(roles=[lacking[0].value])
        r = client.request(method, concrete(path), json={}, headers=auth_headers(user))
        assert r.status_code == 403, (method, path, lacking[0], r.text)
        checked += 1
    assert checked >= 8
