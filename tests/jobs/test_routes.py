"""Route walk over this branch's services: anonymous -> 401, a role lacking the permission
-> 403, for every HTTP route under /jobs, /complaints and /notifications."""

from __future__ import annotations

import re

from api.core.routes import route_table

PREFIXES = ("/api/v1/jobs", "/api/v1/complaints", "/api/v1/notifications")


def _permission(route):
    from api.auth.dependencies import PermissionDependency

    found = [d.call.permission for d in route.dependant.dependencies
             if isinstance(d.call, PermissionDependency)]
    return found


def _routes(app):
    for info in route_table(app):
        if info.is_api and info.path.startswith(PREFIXES):
            for method in info.methods - {"HEAD", "OPTIONS"}:
                yield method, re.sub(r"\{[^}]+\}", "1", info.path), info.route


def test_every_route_needs_exactly_one_permission(app):
    routes = list(_routes(app))
    assert len(routes) == 19  # 2 jobs, 11 complaints, 6 notifications
    for method, path, route in routes:
        assert len(_permission(route)) == 1, (method, path)


def test_anonymous_401_and_role_without_permission_403(app, client, make_user, auth_headers):
    from api.core.permissions import Role

    users = {role: make_user(roles=[role.value])[0] for role in Role if role != Role.admin}
    for method, path, route in _routes(app):
        r = client.request(method, path, json={})
        assert r.status_code == 401, (method, path, r.status_code)
        [perm] = _permission(route)
        lacking = [role for role in users if role not in perm.roles]
        for role in lacking:
            r = client.request(method, path, json={}, headers=auth_headers(users[role]))
            assert r.status_code == 403, (method, path, role, r.status_code)
