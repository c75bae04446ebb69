"""Every wallet, trusty and payments route refuses anonymous callers (401), except the
HMAC-verified provider webhook, and declares exactly one permission."""

from __future__ import annotations

import re

PUBLIC = {("POST", "/api/v1/payments/webhooks/{provider}")}
PREFIXES = ("/api/v1/wallets", "/api/v1/trusty", "/api/v1/payments")


def _permission_deps(route):
    from api.auth.dependencies import PermissionDependency

    found, stack = [], [route.dependant]
    while stack:
        dep = stack.pop()
        if isinstance(dep.call, PermissionDependency):
            found.append(dep.call.permission.name)
        stack.extend(dep.dependencies)
    return found


def test_every_route_guarded(app, client):
    from api.core.routes import route_table

    routes = [r for r in route_table(app) if r.is_api and r.path.startswith(PREFIXES)]
    assert len(routes) >= 30
    for info in routes:
        for method in info.methods - {"HEAD"}:
            url = re.sub(r"\{[^}]+\}", "1" if "provider" not in info.path else "simulated", info.path)
            url = url.replace("/policies/1", "/policies/USD")
            if (method, info.path) in PUBLIC:
                assert _permission_deps(info.route) == []
                assert client.request(method, url, content=b"{}").status_code == 400
                continue
            assert len(_permission_deps(info.route)) == 1, info.path
            r = client.request(method, url, json={})
            assert r.status_code == 401, (method, info.path, r.status_code)
