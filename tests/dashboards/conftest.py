"""Dashboard fixtures: a snapshot with the contract's marts (built by SQL, a few hundred rows),
the real API app, and the Dash app signed in through it."""

from __future__ import annotations

from datetime import date

import pytest

TODAY = date(2026, 11, 25)


def csrf_of(client) -> str:
    """The token the sign-in form carries (GET /login keeps it in the session cookie)."""
    import re

    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def layout_nodes(node):
    """Every component of a Dash layout (as `/_dash-layout` serves it): (type, props) pairs."""
    if isinstance(node, list):
        for child in node:
            yield from layout_nodes(child)
    elif isinstance(node, dict):
        props = node.get("props", {})
        yield node.get("type"), props
        for value in props.values():
            yield from layout_nodes(value)


def sign_out_token(client) -> str:
    """The token the header's sign-out form carries, read from the page layout as a browser
    renders it."""
    found = [props["value"] for kind, props in layout_nodes(client.get("/_dash-layout").json)
             if kind == "Input" and props.get("name") == "csrf_token"]
    assert found and all(found), "no sign-out form in the layout"
    return found[0]


def sign_out(client):
    """Click "Sign out": POST /logout with the form's token."""
    return client.post("/logout", data={"csrf_token": sign_out_token(client)})


def post_login(client, data: dict):
    """POST the sign-in form as a browser does: with the token of the form it was shown."""
    return client.post("/login", data={**data, "csrf_token": csrf_of(client)})


@pytest.fixture(scope="session")
def snapshot_path(tmp_path_factory):
    from dashboards.sample import build_sample_snapshot

    return build_sample_snapshot(tmp_path_factory.mktemp("wh") / "snapshot.duckdb", users=300,
                                 days=120, today=TODAY)


@pytest.fixture(scope="session")
def warehouse(snapshot_path):
    from dashboards.warehouse import Warehouse

    return Warehouse(snapshot_path)


@pytest.fixture(scope="session")
def api_app(database_url):
    from api.main import create_app

    return create_app()


@pytest.fixture(scope="session")
def api_factory(api_app):
    from fastapi.testclient import TestClient

    return lambda: TestClient(api_app, raise_server_exceptions=False)


@pytest.fixture(scope="session")
def dash_app(snapshot_path, warehouse, api_factory):
    from dashboards.app import create_app
    from dashboards.settings import DashSettings

    settings = DashSettings(warehouse_dir=snapshot_path.parent, secret_key="k" * 40,
                            refresh_ms=5000)
    return create_app(settings, warehouse, api_factory)


@pytest.fixture(scope="session")
def _users_by_roles():
    return {}


@pytest.fixture
def signed_in(dash_app, make_user, _users_by_roles):
    """signed_in(roles) -> (flask test client with a real sign-in, user); one user per role set."""
    def _sign_in(roles):
        key = tuple(sorted(roles))
        if key not in _users_by_roles:
            _users_by_roles[key] = make_user(roles=roles)
        user, password = _users_by_roles[key]
        client = dash_app.server.test_client()
        resp = post_login(client, {"email": user.email, "password": password, "next": "/"})
        assert resp.status_code == 302, resp.data
        return client, user
    return _sign_in
