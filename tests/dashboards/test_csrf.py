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
