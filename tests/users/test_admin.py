"""User administration: list/search, get, change roles, disable (ends sessions), enable."""

from __future__ import annotations

import uuid

from tests.auth.helpers import bearer, login, security_events


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def test_list_search_filter_and_paginate(client, make_user, auth_headers):
    admin, _ = make_user(roles=["admin"])
    tag = _tag()
    made = [make_user(email=f"{tag}-{i}@Example.com", roles=roles)[0]
            for i, roles in enumerate([["customer"], ["seller"], ["seller", "affiliate"]])]
    h = auth_headers(admin)
    r = client.get("/api/v1/users", params={"email": tag.upper()}, headers=h)
    assert r.status_code == 200, r.text
    page = r.json()
    assert page["total"] == 3 and [u["id"] for u in page["items"]] == [u.id for u in made]
    r = client.get("/api/v1/users", params={"email": tag, "role": "seller"}, headers=h)
    assert [u["id"] for u in r.json()["items"]] == [made[1].id, made[2].id]
    r = client.get("/api/v1/users", params={"email": tag, "limit": 2, "offset": 2}, headers=h)
    assert r.json()["total"] == 3 and [u["id"] for u in r.json()["items"]] == [made[2].id]
    assert r.json()["limit"] == 2 and r.json()["offset"] == 2
    # LIKE wildcards in the search are literal.
    assert client.get("/api/v1/users", params={"email": "%"}, headers=h).json()["total"] == 0
    r = client.get("/api/v1/users", params={"role": "wizard"}, headers=h)
    assert r.status_code == 422 and "wizard" in r.json()["error"]["message"]
    r = client.get("/api/v1/users", params={"limit": 0}, headers=h)
    assert r.status_code == 422
    assert "password_hash" not in client.get(f"/api/v1/users/{made[0].id}", headers=h).text


def test_get_user_and_not_found(client, make_user, auth_headers):
    admin, _ = make_user(roles=["admin"])
    other, _ = make_user()
    r = client.get(f"/api/v1/users/{other.id}", headers=auth_headers(admin))
    assert r.status_code == 200 and r.json()["email"] == other.email
    r = client.get("/api/v1/users/999999999", headers=auth_headers(admin))
    assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
    r = client.get("/api/v1/users/abc", headers=auth_headers(admin))
    assert r.status_code == 422


def test_change_roles_takes_effect_on_the_next_request(client, make_user, auth_headers, db):
    admin, _ = make_user(roles=["admin"])
    user, _ = make_user()
    assert client.get("/api/v1/users", headers=auth_headers(user)).status_code == 403
    r = client.put(f"/api/v1/users/{user.id}/roles", json={"roles": ["admin", "analyst"]},
                   headers=auth_headers(admin))
    assert r.status_code == 200 and r.json()["roles"] == ["admin", "analyst"]
    assert client.get("/api/v1/users", headers=auth_headers(user)).status_code == 200
    event = security_events(db, "roles_changed", user_id=user.id)[-1]
    assert event.details == {"by": admin.id, "before": ["customer"], "after": ["admin", "analyst"]}
    for bad in ({"roles": []}, {"roles": ["emperor"]}, {"roles": "admin"},
                {"roles": ["customer"], "extra": 1}):
        r = client.put(f"/api/v1/users/{user.id}/roles", json=bad, headers=auth_headers(admin))
        assert r.status_code == 422, bad
    r = client.put("/api/v1/users/999999999/roles", json={"roles": ["customer"]},
                   headers=auth_headers(admin))
    assert r.status_code == 404


def test_disable_ends_sessions_and_enable_restores(client, make_user, auth_headers, db):
    admin, _ = make_user(roles=["admin"])
    user, password = make_user()
    tokens = login(client, user.email, password).json()
    r = client.post(f"/api/v1/users/{user.id}/disable", headers=auth_headers(admin))
    assert r.status_code == 200 and r.json()["is_active"] is False
    r = client.get("/api/v1/auth/me", headers=bearer(tokens["access_token"]))
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_disabled"
    r = client.post("/api/v1/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_revoked"
    assert login(client, user.email, password).status_code == 403
    assert security_events(db, "user_disabled", user_id=user.id)[0].details == {
        "by": admin.id, "sessions_ended": 1}
    listed = client.get("/api/v1/users", params={"email": user.email, "active": False},
                        headers=auth_headers(admin)).json()
    assert [u["id"] for u in listed["items"]] == [user.id]

    r = client.post(f"/api/v1/users/{user.id}/enable", headers=auth_headers(admin))
    assert r.status_code == 200 and r.json()["is_active"] is True
    assert login(client, user.email, password).status_code == 200
    # The old session stays ended.
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": tokens["refresh_token"]}).status_code == 401
    assert security_events(db, "user_enabled", user_id=user.id)


def test_admin_cannot_disable_self_or_remove_the_last_admin(client, make_user, auth_headers, db):
    from sqlalchemy import update

    from api.auth.models import User

    admin, _ = make_user(roles=["admin"])
    r = client.post(f"/api/v1/users/{admin.id}/disable", headers=auth_headers(admin))
    assert r.status_code == 409 and r.json()["error"]["code"] == "self_disable"
    # Make this the only active admin, then try to demote it.
    others = list(db.scalars(update(User).where(User.id != admin.id, User.roles.any("admin"),
                                                User.is_active.is_(True))
                             .values(is_active=False).returning(User.id)))
    db.commit()
    try:
        r = client.put(f"/api/v1/users/{admin.id}/roles", json={"roles": ["analyst"]},
                       headers=auth_headers(admin))
        assert r.status_code == 409 and r.json()["error"]["code"] == "last_admin"
        db.expire_all()
        assert db.get(User, admin.id).roles == ["admin"]
    finally:
        db.execute(update(User).where(User.id.in_(others)).values(is_active=True))
        db.commit()
    other_admin, _ = make_user(roles=["admin"])
    r = client.put(f"/api/v1/users/{admin.id}/roles", json={"roles": ["analyst"]},
                   headers=auth_headers(other_admin))
    assert r.status_code == 200 and r.json()["roles"] == ["analyst"]


def test_non_admin_roles_are_refused(client, make_user, auth_headers):
    target, _ = make_user()
    for role in ["analyst", "support", "seller", "affiliate", "franchisee", "customer"]:
        user, _ = make_user(roles=[role])
        r = client.post(f"/api/v1/users/{target.id}/disable", headers=auth_headers(user))
        assert r.status_code == 403
        assert r.json()["error"]["details"] == {"permission": "users:admin"}
