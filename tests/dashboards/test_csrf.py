"""The sign-in form is protected against cross-site request forgery: a POST must carry the
token of the form this browser session was shown (kept in the signed session cookie)."""

from __future__ import annotations

import pytest

from tests.dashboards.conftest import csrf_of, post_login


@pytest.fixture
def analyst(make_user):
    return make_user(roles=["analyst"])


def _failed_logins(email: str) -> int:
    from sqlalchemy import func, select

    from api.auth.models import SecurityEvent
    from api.db import session_scope

    with session_scope() as db:
        return db.scalar(select(func.count()).select_from(SecurityEvent).where(
            SecurityEvent.email == email, SecurityEvent.event_type == "login_failed"))


def test_post_without_token_is_refused_and_signs_nobody_in(dash_app, analyst):
    user, password = analyst
    client = dash_app.server.test_client()
    resp = client.post("/login", data={"email": user.email, "password": password})
    assert resp.status_code == 403
    assert b"login-error" in resp.data
    assert client.get("/security").status_code == 302  # still signed out


def test_post_with_a_wrong_or_foreign_token_is_refused(dash_app, analyst):
    user, password = analyst
    other = dash_app.server.test_client()
    foreign = csrf_of(other)  # a token an attacker got from their own session
    client = dash_app.server.test_client()
    csrf_of(client)
    for token in ("", "x" * 43, foreign):
        resp = client.post("/login", data={"email": user.email, "password": password,
                                           "csrf_token": token})
        assert resp.status_code == 403, token
    assert client.get("/security").status_code == 302


def test_refused_post_never_reaches_the_auth_service(dash_app, analyst):
    user, _ = analyst
    before = _failed_logins(user.email)
    client = dash_app.server.test_client()
    client.post("/login", data={"email": user.email, "password": "wrong password"})
    assert _failed_logins(user.email) == before
    post_login(client, {"email": user.email, "password": "wrong password"})
    assert _failed_logins(user.email) == before + 1  # with the token it is a real attempt


def test_post_with_the_form_token_signs_in(dash_app, analyst):
    user, password = analyst
    client = dash_app.server.test_client()
    token = csrf_of(client)
    assert csrf_of(client) == token  # stable for the browser session
    resp = client.post("/login", data={"email": user.email, "password": password,
                                       "csrf_token": token})
    assert resp.status_code == 302
    assert client.get("/security").status_code == 200


def test_sign_out_is_a_post_with_the_session_token(dash_app, analyst):
    """A cross-site link or form cannot sign a user out: GET is 405, a POST without this
    session's token is 403 and leaves the session; the header's form (with it) signs out."""
    from tests.dashboards.conftest import sign_out_token

    user, password = analyst
    client = dash_app.server.test_client()
    assert post_login(client, {"email": user.email, "password": password}).status_code == 302
    resp = client.get("/logout")
    assert resp.status_code == 405 and resp.headers["Allow"] == "POST"
    assert client.get("/security").status_code == 200  # still signed in
    foreign = csrf_of(dash_app.server.test_client())  # another session's valid token
    for data in ({}, {"csrf_token": ""}, {"csrf_token": "x" * 43}, {"csrf_token": foreign}):
        resp = client.post("/logout", data=data)
        assert resp.status_code == 403, data
        assert b"logout-error" in resp.data  # a fresh form to confirm, for a stale tab
        assert client.get("/security").status_code == 200, data
    token = sign_out_token(client)
    assert token == csrf_of(client)  # the same per-session token the sign-in form uses
    resp = client.post("/logout", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"
    assert client.get("/security").status_code == 302  # signed out
    assert client.post("/_dash-update-component", json={}).status_code == 401


def test_the_settings_page_signs_out_with_the_same_form(dash_app, analyst):
    from dashboards.callbacks import Callbacks

    user, password = analyst
    client = dash_app.server.test_client()
    post_login(client, {"email": user.email, "password": password})
    page = Callbacks(client).values("_pages_content.children",
                                    {"_pages_location.pathname": "/settings",
                                     "_pages_location.search": ""})
    text = str(page)
    assert "'action': '/logout'" in text and "'method': 'post'" in text
    assert "settings-sign-out" in text and "href': '/logout" not in text


def test_sign_in_response_starts_the_sessions_token(dash_app, analyst):
    """The new session's token is set by the sign-in response itself, not lazily by the first
    page: Dash's first requests run concurrently and each rewrites the whole session cookie,
    so a token made by one of them could be lost (the sign-out form then got 403)."""
    user, password = analyst
    client = dash_app.server.test_client()
    before = csrf_of(client)
    resp = post_login(client, {"email": user.email, "password": password, "next": "/"})
    assert resp.status_code == 302
    with client.session_transaction() as session:
        token = session.get("csrf")
    assert token and token != before  # a fresh one for the new session
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
