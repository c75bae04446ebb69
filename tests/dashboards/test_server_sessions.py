"""Dash sessions live on the server; the cookie is an opaque id. Signing out ends the API
login (its refresh token is refused) and deletes the session (the old cookie, replayed, opens
nothing). Before, the cookie was Flask's signed-but-readable one carrying the API access and
refresh tokens, and stayed valid after sign-out."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from tests.dashboards.conftest import post_login, sign_out

COOKIE = "ehb_dash"


def _signed_in(dash_app, make_user, roles=("analyst",)):
    user, password = make_user(roles=list(roles))
    client = dash_app.server.test_client()
    assert post_login(client, {"email": user.email, "password": password}).status_code == 302
    return client, user


def _server_side(dash_app, cookie: str) -> dict | None:
    """What the server holds for a cookie (dashboards.sessions), None when nothing."""
    interface = dash_app.server.session_interface
    if not hasattr(interface, "stored"):  # Flask's cookie sessions: the cookie is the session
        return None
    return interface.stored(dash_app.server, cookie)


def _flask_cookie_payload(dash_app, cookie: str) -> dict | None:
    """The cookie read the way Flask's default session reads it: a signed, not encrypted,
    payload anyone holding the cookie can decode."""
    from flask.sessions import SecureCookieSessionInterface
    from itsdangerous import BadSignature

    serializer = SecureCookieSessionInterface().get_signing_serializer(dash_app.server)
    try:
        return serializer.loads(cookie)
    except BadSignature:
        return None


def _tokens(dash_app, cookie: str) -> tuple[str, str]:
    held = _server_side(dash_app, cookie) or _flask_cookie_payload(dash_app, cookie)
    return held["user"]["token"], held["user"]["refresh"]


def _session_rows(db) -> int:
    db.expire_all()
    return db.scalar(text("SELECT count(*) FROM analytics_web_sessions"))


def test_the_cookie_holds_an_opaque_id_and_no_token(dash_app, make_user, db):
    client, user = _signed_in(dash_app, make_user)
    cookie = client.get_cookie(COOKIE)
    assert cookie.http_only and cookie.expires is not None
    access, refresh = _tokens(dash_app, cookie.value)
    assert access and refresh
    assert _flask_cookie_payload(dash_app, cookie.value) is None  # nothing to decode
    for secret in (access, refresh, user.email):
        assert secret not in cookie.value
    assert len(cookie.value) < 80  # 32 random bytes and a signature
    # Stored sealed under the SHA-256 of the id: the table hands out neither cookies nor tokens.
    key, stored = db.execute(text(
        "SELECT id_hash, data FROM analytics_web_sessions WHERE user_id = :u"),
        {"u": user.id}).one()
    assert stored.startswith("ehbenc:v1:") and access not in stored and refresh not in stored
    assert cookie.value.split(".")[0] not in key


def test_sign_out_ends_the_api_session_and_a_replayed_cookie_opens_nothing(
        dash_app, make_user, api_factory, db):
    client, user = _signed_in(dash_app, make_user)
    old = client.get_cookie(COOKIE).value
    access, refresh = _tokens(dash_app, old)
    with api_factory() as api:
        assert api.get("/api/v1/auth/me",
                       headers={"Authorization": f"Bearer {access}"}).status_code == 200
    assert client.get("/security").status_code == 200

    resp = sign_out(client)
    assert resp.status_code == 302 and resp.headers["Location"] == "/login"

    # The API login is over: its refresh token and its access token are refused.
    with api_factory() as api:
        refreshed = api.post("/api/v1/auth/refresh", json={"refresh_token": refresh})
        assert refreshed.status_code == 401, refreshed.text
        assert api.get("/api/v1/auth/me",
                       headers={"Authorization": f"Bearer {access}"}).status_code == 401
    # The old cookie, replayed, opens no page, no callback, no download; nothing is written.
    rows = _session_rows(db)
    replay = dash_app.server.test_client()
    replay.set_cookie(COOKIE, old)
    assert replay.get("/security").status_code == 302
    assert replay.get("/").headers["Location"].startswith("/login")
    assert replay.get("/_dash-layout").status_code == 401
    assert replay.post("/_dash-update-component", json={}).status_code == 401
    assert replay.get("/download/report/1.csv").status_code == 302
    assert _server_side(dash_app, old) is None
    assert _session_rows(db) == rows


def test_sign_out_with_an_expired_access_token_still_ends_the_api_login(dash_app, make_user,
                                                                       api_factory):
    """The access token lives 15 minutes, the dashboard session 12 hours: sign-out refreshes
    to reach the logout route rather than leaving the refresh token alive."""
    import time

    client, _ = _signed_in(dash_app, make_user)
    with client.session_transaction() as held:
        refresh = held["user"]["refresh"]
        held["user"] = {**held["user"], "token": "expired.access.token", "checked": time.time()}
    assert sign_out(client).status_code == 302
    with api_factory() as api:
        assert api.post("/api/v1/auth/refresh",
                        json={"refresh_token": refresh}).status_code == 401


def test_sign_in_starts_a_new_session_id(dash_app, make_user):
    """An id planted before sign-in (session fixation) is worth nothing after it."""
    user, password = make_user(roles=["analyst"])
    client = dash_app.server.test_client()
    client.get("/login")  # the sign-in form's session (its CSRF token)
    before = client.get_cookie(COOKIE).value
    assert post_login(client, {"email": user.email, "password": password}).status_code == 302
    after = client.get_cookie(COOKIE).value
    assert after != before
    planted = dash_app.server.test_client()
    planted.set_cookie(COOKIE, before)
    assert planted.get("/security").status_code == 302


def test_a_request_begun_before_sign_out_cannot_bring_the_session_back(dash_app, make_user):
    client, _ = _signed_in(dash_app, make_user)
    old = client.get_cookie(COOKIE).value
    slow = dash_app.server.test_client()
    slow.set_cookie(COOKIE, old)
    with slow.session_transaction() as loaded:  # a callback in flight holds the session...
        loaded["user"] = {**loaded["user"], "checked": 0.0}
        assert sign_out(client).status_code == 302  # ...while the user signs out
    assert _server_side(dash_app, old) is None  # its write found nothing to update
    assert slow.get("/security").status_code == 302


def test_sessions_end_at_their_absolute_lifetime_and_are_purged(database_url, db):
    """Through the real store with a clock: a session opens until its expiry, not after, and
    expired rows are purged when later sessions are created."""
    import flask

    from api.analytics import web_sessions
    from api.analytics.models import WebSession
    from dashboards.sessions import PURGE_EVERY, ServerSideSessions

    # Long ago, so the purge below can only reach this test's own rows.
    now = [datetime(2001, 3, 4, 9, 0, tzinfo=UTC)]
    app = flask.Flask("lifetime")
    app.config.update(SECRET_KEY="s" * 40, PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
                      SESSION_COOKIE_NAME="life")
    app.session_interface = ServerSideSessions(web_sessions, clock=lambda: now[0])

    @app.post("/in")
    def sign_in():
        flask.session.permanent = True
        flask.session["user"] = {"marker": uuid.uuid4().hex}
        return "ok"

    @app.get("/me")
    def me():
        return flask.session.get("user", {}).get("marker", "nobody")

    client = app.test_client()
    client.post("/in")
    marker = client.get("/me").text
    assert marker != "nobody"
    now[0] += timedelta(hours=11, minutes=59)
    assert client.get("/me").text == marker
    now[0] += timedelta(minutes=2)
    assert client.get("/me").text == "nobody"
    # the expired row stays until a purge
    expired = select(func.count()).select_from(WebSession).where(WebSession.expires_at <= now[0])
    assert db.scalar(expired) >= 1
    now[0] += PURGE_EVERY
    app.test_client().post("/in")  # a new session: housekeeping runs
    db.expire_all()
    assert db.scalar(expired) == 0


@pytest.fixture
def redis_sessions():
    import redis

    from dashboards.sessions import RedisSessionStore

    url = "redis://127.0.0.1:6379/15"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=1).ping()
    except redis.RedisError:
        pytest.skip("no Redis at 127.0.0.1:6379 (DASH_SESSION_STORE=redis is optional)")
    store = RedisSessionStore(url, prefix=f"ehb:test-dash-session:{uuid.uuid4().hex}:")
    yield store
    for key in store.client.scan_iter(store.prefix + "*"):
        store.client.delete(key)


def test_redis_store_signs_out_the_same_way(snapshot_path, warehouse, api_factory, make_user,
                                            redis_sessions):
    from dashboards.app import create_app
    from dashboards.settings import DashSettings

    app = create_app(DashSettings(warehouse_dir=snapshot_path.parent, secret_key="r" * 40),
                     warehouse, api_factory, session_store=redis_sessions)
    client, _ = _signed_in(app, make_user)
    old = client.get_cookie(COOKIE).value
    access, refresh = _tokens(app, old)
    stored = [redis_sessions.client.get(k) for k in redis_sessions.client.scan_iter(
        redis_sessions.prefix + "*")]
    assert stored and all(v.startswith(b"ehbenc:v1:") and refresh.encode() not in v
                          for v in stored)
    assert client.get("/security").status_code == 200
    assert sign_out(client).status_code == 302
    with api_factory() as api:
        assert api.post("/api/v1/auth/refresh",
                        json={"refresh_token": refresh}).status_code == 401
    replay = app.server.test_client()
    replay.set_cookie(COOKIE, old)
    assert replay.get("/security").status_code == 302
    assert list(redis_sessions.client.scan_iter(redis_sessions.prefix + "*")) == []
