"""User management page against the users API's contract (GET /api/v1/users, PUT roles,
POST disable/enable). That API is the auth helper's; an httpx MockTransport speaks its
contract here so the page's calls, paging and refusals are checked on this branch."""

from __future__ import annotations

import json

import httpx
import pytest

from dashboards.callbacks import Callbacks

USERS = [{"id": i, "email": f"u{i}@example.com", "display_name": "", "roles": ["customer"],
          "is_active": True, "email_verified": True, "mfa_enabled": False,
          "created_at": "2026-11-01T00:00:00Z"} for i in range(1, 121)]


@pytest.fixture
def fake_api():
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        path, auth = request.url.path, request.headers.get("Authorization", "")
        calls.append((request.method, path, dict(request.url.params)))
        if path == "/api/v1/auth/login":
            who = json.loads(request.read())["email"]
            return httpx.Response(200, json={"access_token": f"tok-{who}", "refresh_token": ""})
        if path == "/api/v1/auth/me":
            admin = "admin" in auth
            return httpx.Response(200, json={"id": 1 if admin else 2, "email": "x@example.com",
                                             "roles": ["admin"] if admin else ["analyst"]})
        if "admin" not in auth:
            return httpx.Response(403, json={"error": {"message": "requires permission"}})
        if path == "/api/v1/users":
            p = request.url.params
            items = [u for u in USERS if p.get("email", "") in u["email"]]
            off, lim = int(p["offset"]), int(p["limit"])
            return httpx.Response(200, json={"items": items[off:off + lim], "total": len(items),
                                             "limit": lim, "offset": off})
        if path.endswith("/roles"):
            roles = json.loads(request.read())["roles"]
            if "admin" not in roles and path == "/api/v1/users/1/roles":
                return httpx.Response(409, json={"error": {"message": "you cannot remove your "
                                                                       "own admin role"}})
            return httpx.Response(200, json={**USERS[int(path.split("/")[4]) - 1], "roles": roles})
        if path.endswith("/disable"):
            return httpx.Response(200, json={**USERS[int(path.split("/")[4]) - 1],
                                             "is_active": False})
        return httpx.Response(404, json={"error": {"message": "not found"}})

    return calls, lambda: httpx.Client(transport=httpx.MockTransport(handler),
                                       base_url="http://api")


def _app(warehouse, snapshot_path, factory):
    from dashboards.app import create_app
    from dashboards.settings import DashSettings

    return create_app(DashSettings(warehouse_dir=snapshot_path.parent, secret_key="u" * 40),
                      warehouse, factory)


def _signed(app, email):
    client = app.server.test_client()
    assert client.post("/login", data={"email": email, "password": "pw-123456"}).status_code == 302
    return client


def test_admin_pages_users_and_changes_roles(fake_api, warehouse, snapshot_path):
    calls, factory = fake_api
    app = _app(warehouse, snapshot_path, factory)
    cb = Callbacks(_signed(app, "admin@example.com"))
    page = cb.values("um-grid.getRowsResponse", {"um-grid.getRowsRequest": {
        "startRow": 50, "endRow": 100, "filterModel": {}}})["um-grid"]["getRowsResponse"]
    assert page["rowCount"] == 120 and page["rowData"][0]["id"] == 51
    assert page["rowData"][0]["roles"] == "customer"
    assert ("GET", "/api/v1/users", {"limit": "50", "offset": "50"}) in calls
    found = cb.values("um-grid.getRowsResponse", {"um-grid.getRowsRequest": {
        "startRow": 0, "endRow": 50, "filterModel": {"email": {"filter": "u11"}}}})
    assert found["um-grid"]["getRowsResponse"]["rowCount"] == 11  # u11, u110..u119
    picked = cb.values("um-user.value", {"um-grid.selectedRows": [{"id": 7, "roles":
                                                                   "customer, seller"}]})
    assert picked["um-roles"]["value"] == ["customer", "seller"]
    done = cb.values("um-result.children", {"um-save.n_clicks": 1, "um-disable.n_clicks": None,
                                            "um-enable.n_clicks": None},
                     {"um-user.value": 7, "um-roles.value": ["seller"]},
                     changed=["um-save.n_clicks"])
    assert done["um-result"]["children"] == "u7@example.com: roles seller, active"
    off = cb.values("um-result.children", {"um-save.n_clicks": 1, "um-disable.n_clicks": 1,
                                           "um-enable.n_clicks": None},
                    {"um-user.value": 7, "um-roles.value": ["seller"]},
                    changed=["um-disable.n_clicks"])
    assert off["um-result"]["children"].endswith("disabled")
    refused = cb.values("um-result.children", {"um-save.n_clicks": 2, "um-disable.n_clicks": 1,
                                               "um-enable.n_clicks": None},
                        {"um-user.value": 1, "um-roles.value": ["analyst"]},
                        changed=["um-save.n_clicks"])
    assert refused["um-result"]["children"] == "refused: you cannot remove your own admin role"


def test_non_admin_is_refused_before_any_api_call(fake_api, warehouse, snapshot_path):
    calls, factory = fake_api
    app = _app(warehouse, snapshot_path, factory)
    cb = Callbacks(_signed(app, "analyst@example.com"))
    before = len(calls)
    out = cb.values("um-result.children", {"um-save.n_clicks": 1, "um-disable.n_clicks": None,
                                           "um-enable.n_clicks": None},
                    {"um-user.value": 7, "um-roles.value": ["admin"]},
                    changed=["um-save.n_clicks"])
    assert out["um-result"]["children"] == "this page is not open to your role"
    assert len(calls) == before
