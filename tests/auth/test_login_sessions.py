"""Login, access tokens, refresh rotation and reuse detection, logout, sessions."""

from __future__ import annotations

import jwt
from sqlalchemy import select, update

from tests.auth.helpers import bearer, login, security_events


def test_login_returns_short_access_token_and_refresh_token(client, signed_in, db):
    from api.auth.models import RefreshToken
    from api.settings import get_settings

    user, _, body = signed_in
    assert body["token_type"] == "bearer" and body["expires_in"] == 15 * 60
    claims = jwt.decode(body["access_token"], options={"verify_signature": False})
    assert claims["sub"] == str(user.id) and claims["sid"] == body["session_id"]
    assert claims["exp"] - claims["iat"] == get_settings().access_token_ttl_seconds
    me = client.get("/api/v1/auth/me", headers=bearer(body["access_token"]))
    assert me.status_code == 200 and me.json()["email"] == user.email
    # The refresh token is stored only as a hash.
    rows = list(db.scalars(select(RefreshToken).where(RefreshToken.user_id == user.id)))
    assert len(rows) == 1 and rows[0].token_hash != body["refresh_token"]
    assert rows[0].family_id == body["session_id"] and rows[0].client_ip.startswith("10.")
    assert security_events(db, "login_succeeded", user_id=user.id)


def test_login_with_wrong_password_or_unknown_email_is_the_same_401(client, make_user, db):
    user, _ = make_user()
    wrong = login(client, user.email, "not the right password")
    unknown = login(client, "nobody-here@example.com", "not the right password")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["error"]["code"] == unknown.json()["error"]["code"] == "invalid_credentials"
    assert wrong.json()["error"]["message"] == unknown.json()["error"]["message"]
    events = security_events(db, "login_failed", email=user.email)
    assert len(events) == 1 and events[0].user_id == user.id
    assert events[0].request_id == wrong.headers["x-request-id"]
    assert events[0].client_ip.startswith("10.")


def test_disabled_user_cannot_log_in_even_with_the_right_password(client, make_user, db):
    from api.auth.models import User

    user, password = make_user()
    db.execute(update(User).where(User.id == user.id).values(is_active=False))
    db.commit()
    r = login(client, user.email, password)
    assert r.status_code == 403 and r.json()["error"]["code"] == "account_disabled"


def test_refresh_rotates_and_reuse_revokes_the_whole_family(client, signed_in, db):
    from api.auth.models import RefreshToken

    user, _, first = signed_in
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 200, r.text
    second = r.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["session_id"] == first["session_id"]
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": second["refresh_token"]})
    third = r.json()
    assert client.get("/api/v1/auth/me", headers=bearer(third["access_token"])).status_code == 200

    # The first (rotated) token is presented again: theft. The family dies, including the
    # newest refresh token and the access tokens of that login.
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_reused"
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": third["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_revoked"
    r = client.get("/api/v1/auth/me", headers=bearer(third["access_token"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    rows = list(db.scalars(select(RefreshToken)
                           .where(RefreshToken.family_id == first["session_id"])))
    assert len(rows) == 3 and all(row.revoked_reason == "reuse_detected" for row in rows)
    reuse = security_events(db, "refresh_token_reuse", user_id=user.id)
    assert len(reuse) == 1 and reuse[0].details["family_id"] == first["session_id"]


def test_refresh_refuses_unknown_expired_and_disabled(client, signed_in, make_user, db):
    from api.auth.models import RefreshToken, User

    user, _, body = signed_in
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": "made-up"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_refresh_token"
    db.execute(update(RefreshToken).where(RefreshToken.family_id == body["session_id"])
               .values(expires_at=RefreshToken.created_at))
    db.commit()
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_expired"

    other, password = make_user()
    tokens = login(client, other.email, password).json()
    db.execute(update(User).where(User.id == other.id).values(is_active=False))
    db.commit()
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_disabled"


def test_logout_revokes_the_family_and_its_access_tokens_at_once(client, signed_in):
    _, _, body = signed_in
    headers = bearer(body["access_token"])
    r = client.post("/api/v1/auth/logout", json={"refresh_token": body["refresh_token"]},
                    headers=headers)
    assert r.status_code == 200 and r.json() == {"sessions_ended": 1}
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": body["refresh_token"]})
    assert r.status_code == 401
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"


def test_logout_without_body_ends_the_access_tokens_session(client, signed_in):
    _, _, body = signed_in
    r = client.post("/api/v1/auth/logout", headers=bearer(body["access_token"]))
    assert r.status_code == 200 and r.json() == {"sessions_ended": 1}
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": body["refresh_token"]}).status_code == 401


def test_logout_refuses_another_users_refresh_token(client, signed_in, make_user):
    _, _, mine = signed_in
    other, password = make_user()
    theirs = login(client, other.email, password).json()
    r = client.post("/api/v1/auth/logout", json={"refresh_token": theirs["refresh_token"]},
                    headers=bearer(mine["access_token"]))
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_refresh_token"
    # Their session is untouched.
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": theirs["refresh_token"]}).status_code == 200


def test_sessions_list_and_revoke_others(client, new_client, make_user, db):
    user, password = make_user()
    phone = new_client()
    a = login(client, user.email, password, ).json()
    b = phone.post("/api/v1/auth/login", json={"email": user.email, "password": password},
                   headers={"User-Agent": "phone-app/1.0"}).json()
    c = login(client, user.email, password).json()
    # Rotation keeps one entry per login.
    client.post("/api/v1/auth/refresh", json={"refresh_token": b["refresh_token"]})

    r = client.get("/api/v1/auth/sessions", headers=bearer(a["access_token"]))
    assert r.status_code == 200
    listed = {s["session_id"]: s for s in r.json()}
    assert set(listed) == {a["session_id"], b["session_id"], c["session_id"]}
    assert [s["current"] for s in r.json() if s["session_id"] == a["session_id"]] == [True]
    assert sum(s["current"] for s in r.json()) == 1

    r = client.post("/api/v1/auth/sessions/revoke-others", headers=bearer(a["access_token"]))
    assert r.status_code == 200 and r.json() == {"sessions_ended": 2}
    assert client.get("/api/v1/auth/me", headers=bearer(a["access_token"])).status_code == 200
    for other in (b, c):
        r = client.get("/api/v1/auth/me", headers=bearer(other["access_token"]))
        assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"
    r = client.get("/api/v1/auth/sessions", headers=bearer(a["access_token"]))
    assert [s["session_id"] for s in r.json()] == [a["session_id"]]
    assert security_events(db, "sessions_revoked", user_id=user.id)[0].details["ended"] == 2


def test_login_rehashes_a_password_stored_with_old_parameters(client, make_user, db):
    from argon2 import PasswordHasher

    from api.auth.models import User
    from api.auth.passwords import needs_rehash

    user, password = make_user()
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(password)
    db.execute(update(User).where(User.id == user.id).values(password_hash=weak))
    db.commit()
    assert needs_rehash(weak)
    assert login(client, user.email, password).status_code == 200
    db.expire_all()
    stored = db.get(User, user.id).password_hash
    assert stored != weak and not needs_rehash(stored)
    assert login(client, user.email, password).status_code == 200


def test_require_checks_user_and_session_in_one_query(client, signed_in):
    from sqlalchemy import event

    from api.db import get_engine

    _, _, tokens = signed_in
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        r = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)
    assert r.status_code == 200
    # The check is one statement (user and session liveness together); /me then loads the
    # full user for its response body in the request's own session.
    assert len(statements) == 2, statements
    assert "FROM users" in statements[0] and "refresh_tokens" in statements[0]
    assert "refresh_tokens" not in statements[1]


def test_openapi_lists_the_auth_and_admin_endpoints(client):
    paths = client.get("/openapi.json").json()["paths"]
    for path in ["/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh",
                 "/api/v1/auth/logout", "/api/v1/auth/sessions", "/api/v1/auth/mfa/setup",
                 "/api/v1/auth/password/reset", "/api/v1/users", "/api/v1/users/{user_id}/roles",
                 "/api/v1/users/{user_id}/disable", "/api/v1/users/{user_id}/enable"]:
        assert path in paths, path


def test_revoke_one_session_by_id(client, new_client, make_user):
    user, password = make_user()
    here = login(client, user.email, password).json()
    lost_phone = login(new_client(), user.email, password).json()
    other, other_password = make_user()
    theirs = login(client, other.email, other_password).json()
    headers = bearer(here["access_token"])
    r = client.post(f"/api/v1/auth/sessions/{lost_phone['session_id']}/revoke", headers=headers)
    assert r.status_code == 200 and r.json() == {"sessions_ended": 1}
    assert client.get("/api/v1/auth/me",
                      headers=bearer(lost_phone["access_token"])).status_code == 401
    assert client.get("/api/v1/auth/me", headers=headers).status_code == 200
    # Again, someone else's, or a malformed id: refused.
    r = client.post(f"/api/v1/auth/sessions/{lost_phone['session_id']}/revoke", headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == "session_not_found"
    r = client.post(f"/api/v1/auth/sessions/{theirs['session_id']}/revoke", headers=headers)
    assert r.status_code == 404
    assert client.get("/api/v1/auth/me", headers=bearer(theirs["access_token"])).status_code == 200
    r = client.post("/api/v1/auth/sessions/not-an-id/revoke", headers=headers)
    assert r.status_code == 422
