"""User management page against the real users API (GET /api/v1/users, PUT roles, POST
disable/enable) through the `api_factory` TestClient of the API app; every request the page
sends is recorded so paging parameters and "no call at all" can be asserted."""

from __future__ import annotations

import uuid

import pytest

from dashboards.callbacks import Callbacks
from tests.dashboards.conftest import post_login

COUNT = 45


@pytest.fixture(scope="module")
def recorded(api_factory, warehouse, snapshot_path):
    """(requests sent to the API, a Dash app whose API client records them)."""
    from dashboards.app import create_app
    from dashboards.settings import DashSettings

    calls: list[tuple[str, str, dict]] = []

    def factory():
        client = api_factory()
        client.event_hooks = {"request": [lambda r: calls.append(
            (r.method, r.url.path, dict(r.url.params)))], "response": []}
        return client

    app = create_app(DashSettings(warehouse_dir=snapshot_path.parent, secret_key="u" * 40),
                     warehouse, factory)
    return calls, app


@pytest.fixture(scope="module")
def tagged_users(database_url):
    """COUNT customers whose emails share a tag no other test uses, in id order."""
    from api.auth.service import create_user
    from api.db import session_scope

    tag = f"um{uuid.uuid4().hex[:8]}"
    rows = []
    with session_scope() as db:  # the auth service's own function, as make_user does
        for i in range(COUNT):
            user = create_user(db, f"{tag}-{i:03d}@example.com", "correct horse battery staple",
                               roles=["customer"], verified=True)
            rows.append((user.id, user.email))
    return tag, rows


def _signed(app, make_user, roles):
    user, password = make_user(roles=roles)
    client = app.server.test_client()
    assert post_login(client, {"email": user.email, "password": password}).status_code == 302
    return client, user


def _act(cb, button, user_id, roles, clicks=1):
    inputs = {"um-save.n_clicks": None, "um-disable.n_clicks": None, "um-enable.n_clicks": None}
    inputs[f"{button}.n_clicks"] = clicks
    return cb.values("um-result.children", inputs, {"um-user.value": user_id,
                                                    "um-roles.value": roles},
                     changed=[f"{button}.n_clicks"])["um-result"]["children"]


def test_admin_pages_searches_and_changes_users(recorded, tagged_users, make_user):
    calls, app = recorded
    tag, users = tagged_users
    client, admin = _signed(app, make_user, ["admin"])
    cb = Callbacks(client)
    for start, end in [(20, 40), (40, 60)]:
        page = cb.values("um-grid.getRowsResponse", {"um-grid.getRowsRequest": {
            "startRow": start, "endRow": end, "filterModel": {"email": {"filter": tag}}}}
        )["um-grid"]["getRowsResponse"]
        assert page["rowCount"] == COUNT
        assert [r["id"] for r in page["rowData"]] == [uid for uid, _ in users[start:end]]
        assert page["rowData"][0]["roles"] == "customer"
        assert ("GET", "/api/v1/users", {"limit": "20", "offset": str(start),
                                         "email": tag}) in calls
    found = cb.values("um-grid.getRowsResponse", {"um-grid.getRowsRequest": {
        "startRow": 0, "endRow": 50, "filterModel": {"email": {"filter": f"{tag}-01"}}}})
    rows = found["um-grid"]["getRowsResponse"]
    assert rows["rowCount"] == 10  # -010 .. -019
    assert {r["email"] for r in rows["rowData"]} == {e for _, e in users[10:20]}

    uid, email = users[7]
    picked = cb.values("um-user.value", {"um-grid.selectedRows": [{"id": uid, "roles":
                                                                   "customer, seller"}]})
    assert picked["um-roles"]["value"] == ["customer", "seller"]
    assert _act(cb, "um-save", uid, ["seller"]) == f"{email}: roles seller, active"
    assert _act(cb, "um-disable", uid, ["seller"]).endswith("disabled")
    # the API really changed the user: the grid reads it back
    again = cb.values("um-grid.getRowsResponse", {"um-grid.getRowsRequest": {
        "startRow": 0, "endRow": 50, "filterModel": {"email": {"filter": email}}}})
    row = again["um-grid"]["getRowsResponse"]["rowData"][0]
    assert (row["roles"], row["is_active"]) == ("seller", False)
    assert _act(cb, "um-enable", uid, ["seller"]) == f"{email}: roles seller, active"
    assert _act(cb, "um-save", uid, ["wizard"]).startswith("refused: ")
    assert _act(cb, "um-save", 2**62, ["customer"]) == f"refused: user {2**62} does not exist"


def test_admin_cannot_disable_their_own_account(recorded, make_user):
    _, app = recorded
    client, admin = _signed(app, make_user, ["admin"])
    cb = Callbacks(client)
    assert _act(cb, "um-disable", admin.id, ["admin"]) == (
        "refused: you cannot disable your own account")


def test_non_admin_is_refused_before_any_api_call(recorded, make_user):
    calls, app = recorded
    client, _ = _signed(app, make_user, ["analyst"])
    cb = Callbacks(client)
    before = len(calls)
    assert _act(cb, "um-save", 7, ["admin"]) == "this page is not open to your role"
    grid = cb.values("um-grid.getRowsResponse", {"um-grid.getRowsRequest": {
        "startRow": 0, "endRow": 50, "filterModel": {}}})
    assert grid["um-grid"]["getRowsResponse"] == {"rowData": [], "rowCount": 0}
    assert len(calls) == before
