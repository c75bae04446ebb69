"""Bad input: malformed JSON, wrong types, unknown fields, oversized bodies, bad tokens.
Each is a 4xx saying what is wrong, never a 500, and writes nothing."""

from __future__ import annotations

import base64
import json
import time
import typing
import uuid

import jwt
import pytest
from sqlalchemy import func, select

from tests.auth.helpers import bearer


def _counts(db) -> tuple[int, int, int]:
    from api.auth.models import RefreshToken, User
    from api.notifications.models import OutboxMessage

    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(t))
                 for t in (User, RefreshToken, OutboxMessage))


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/auth/register",
                                  "/api/v1/auth/refresh", "/api/v1/auth/password/reset"])
def test_malformed_json_is_400(client, db, path):
    before = _counts(db)
    r = client.post(path, content=b'{"email": "a@example.com", "password": ',
                    headers={"content-type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "malformed_json"
    assert r.json()["error"]["message"] == "request body is not valid JSON"
    assert _counts(db) == before


@pytest.mark.parametrize("body, where", [
    ({"email": ["a@example.com"], "password": "x" * 10}, "email"),
    ({"email": "a@example.com", "password": 12345678}, "password"),
    ({"email": "a@example.com"}, "password"),
    ({"email": "a@example.com", "password": "p" * 10, "totp_code": {"x": 1}}, "totp_code"),
    ([1, 2, 3], "body"),
])
def test_wrong_types_are_422_naming_the_field(client, body, where):
    r = client.post("/api/v1/auth/login", json=body)
    assert r.status_code == 422, r.text
    err = r.json()["error"]
    assert err["code"] == "validation_error"
    assert any(where in d["loc"] for d in err["details"]) or where == "body"
    assert "input" not in json.dumps(err["details"])  # values are never echoed back


def test_unknown_fields_are_refused_on_security_endpoints(client, signed_in):
    _, password, tokens = signed_in
    r = client.post("/api/v1/auth/login",
                    json={"email": "a@example.com", "password": password, "totp": "123456"})
    assert r.status_code == 422 and "totp" in r.json()["error"]["message"]
    r = client.post("/api/v1/auth/password/change", headers=bearer(tokens["access_token"]),
                    json={"current_password": password, "new_password": "fresh passphrase!",
                          "force": True})
    assert r.status_code == 422
    assert r.json()["error"]["details"][0]["type"] == "extra_forbidden"


def test_oversized_chunked_body_to_login_is_413(database_url, db):
    from fastapi.testclient import TestClient

    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(max_body_bytes=4096))
    before = _counts(db)

    def chunks():
        yield b'{"email": "a@example.com", "password": "'
        for _ in range(20):
            yield b"p" * 1024
        yield b'"}'

    with TestClient(app, raise_server_exceptions=False, client=("10.250.0.1", 1)) as c:
        r = c.post("/api/v1/auth/login", content=chunks(),
                   headers={"content-type": "application/json"})
        assert "content-length" not in r.request.headers  # really sent chunked
        assert r.status_code == 413, r.text
        assert r.json()["error"]["code"] == "payload_too_large"
        # A declared oversized body is refused before it is read.
        r = c.post("/api/v1/auth/login", content=b"x" * 5000,
                   headers={"content-type": "application/json"})
        assert r.status_code == 413
    assert _counts(db) == before


def _claims(user_id: int, **over):
    from api.settings import get_settings

    s = get_settings()
    now = int(time.time())
    claims = {"sub": str(user_id), "iss": s.jwt_issuer, "aud": s.jwt_audience, "iat": now,
              "nbf": now, "exp": now + 600, "jti": "j" * 32, "sid": None}
    claims.update(over)
    return {k: v for k, v in claims.items() if v is not ...}


def _sign(claims, secret=None, alg="HS256"):
    from api.settings import get_settings

    return jwt.encode(claims, secret or get_settings().jwt_secret.get_secret_value(), algorithm=alg)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_well_formed_token_is_accepted(client, make_user):
    """The control for the refusals below: the same construction, unaltered, works."""
    user, _ = make_user()
    r = client.get("/api/v1/auth/me", headers=bearer(_sign(_claims(user.id))))
    assert r.status_code == 200


@pytest.mark.parametrize("case", [
    "alg_none", "other_secret", "wrong_aud", "wrong_iss", "missing_exp", "expired",
    "not_yet_valid", "tampered_payload", "garbage", "bad_subject", "missing_sub", "hs512",
])
def test_bad_tokens_are_401_with_a_clear_message(client, make_user, case):
    user, _ = make_user() if case != "garbage" else (type("U", (), {"id": 1})(), None)
    good = _claims(user.id)
    now = int(time.time())
    if case == "alg_none":
        token = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(good)}."
    elif case == "other_secret":
        token = _sign(good, secret="another-secret-" + "y" * 40)
    elif case == "wrong_aud":
        token = _sign(_claims(user.id, aud="someone-else"))
    elif case == "wrong_iss":
        token = _sign(_claims(user.id, iss="evil-issuer"))
    elif case == "missing_exp":
        token = _sign(_claims(user.id, exp=...))
    elif case == "expired":
        token = _sign(_claims(user.id, iat=now - 3600, nbf=now - 3600, exp=now - 1800))
    elif case == "not_yet_valid":
        token = _sign(_claims(user.id, nbf=now + 3600))
    elif case == "tampered_payload":
        header, _, sig = _sign(good).split(".")
        token = f"{header}.{_b64({**good, 'sub': str(user.id + 1)})}.{sig}"
    elif case == "garbage":
        token = "not.a.jwt"
    elif case == "bad_subject":
        token = _sign(_claims(user.id, sub="admin"))
    elif case == "missing_sub":
        token = _sign(_claims(user.id, sub=...))
    else:  # an algorithm outside the allow-list, even with the right secret
        token = _sign(good, alg="HS512")
    r = client.get("/api/v1/auth/me", headers=bearer(token))
    assert r.status_code == 401, r.text
    err = r.json()["error"]
    assert err["code"] in {"invalid_token", "token_expired"}
    assert err["message"] and "access token" in err["message"]
    if case == "expired":
        assert err["code"] == "token_expired"


def test_missing_or_non_bearer_authorization_is_401(client):
    assert client.get("/api/v1/auth/me").json()["error"]["message"] == "missing bearer token"
    r = client.get("/api/v1/auth/me", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401 and r.headers.get("www-authenticate") == "Bearer"


def test_token_of_a_deleted_user_is_401(client, make_user, db):
    from api.auth.models import User

    user, _ = make_user()
    headers = bearer(_sign(_claims(user.id)))
    db.delete(db.get(User, user.id))
    db.commit()
    r = client.get("/api/v1/auth/me", headers=headers)
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_disabled"


def test_control_characters_in_stored_text_are_422_not_500(client, db, make_user, auth_headers):
    before = _counts(db)
    r = client.post("/api/v1/auth/register", json={"email": "nul@example.com",
                                                  "password": "a perfectly fine passphrase",
                                                  "display_name": "x\x00y"})
    assert r.status_code == 422 and "display_name" in r.json()["error"]["message"]
    assert _counts(db) == before
    admin, _ = make_user(roles=["admin"])
    r = client.get("/api/v1/users", params={"email": "a\x00b"}, headers=auth_headers(admin))
    assert r.status_code == 422 and "email" in r.json()["error"]["message"]
    # Secrets are only hashed, never stored: a NUL in a password is just a wrong password.
    r = client.post("/api/v1/auth/login",
                    json={"email": "nul@example.com", "password": "a\x00b" * 4})
    assert r.status_code == 401


JUNK = ["\x00", "a\x00b", "x" * 5000, 2**70, None, [], {"$ne": None}]


def _baseline(field: str):
    """A plausible valid value, so one junk field at a time reaches the service code."""
    if "email" in field:
        return f"sweep-{uuid.uuid4().hex[:8]}@example.com"
    if "password" in field:
        return "a perfectly fine passphrase"
    if field == "roles":
        return ["customer"]
    if field.startswith("sign_out"):
        return False
    if "code" in field:
        return "123456"
    return "sweep"


def _body_fields(route) -> list[str]:
    fields = []
    for param in route.dependant.body_params:
        annotation = param.field_info.annotation
        for candidate in typing.get_args(annotation) or (annotation,):
            if isinstance(candidate, type) and hasattr(candidate, "model_fields"):
                fields.extend(candidate.model_fields)
    return fields


def test_no_auth_or_users_route_answers_500_to_junk(app, client, make_user, auth_headers):
    """Every route under these prefixes, as an admin, with each junk value in one body field
    or query parameter at a time (the others plausible): a 4xx or a success, never a 500."""
    from api.core.routes import route_table

    admin, _ = make_user(roles=["admin"])
    headers = auth_headers(admin)
    swept = 0
    for info in route_table(app):
        if not info.is_api or not info.path.startswith(("/api/v1/auth", "/api/v1/users")):
            continue
        path = info.path.replace("{user_id}", "999999999")
        fields = _body_fields(info.route)
        queries = [p.name for p in info.route.dependant.query_params]
        for method in info.methods - {"HEAD"}:
            for target in fields + queries:
                for junk in JUNK:
                    kwargs: dict = {"headers": headers}
                    if fields:
                        kwargs["json"] = {f: junk if f == target else _baseline(f) for f in fields}
                    if target in queries:
                        kwargs["params"] = {target: junk if isinstance(junk, str)
                                            else json.dumps(junk)}
                    r = client.request(method, path, **kwargs)
                    assert r.status_code < 500, f"{method} {info.path} {target}={junk!r}: {r.text}"
                    swept += 1
            if fields:  # and bodies that are not an object at all
                for raw in (b"[]", b"null", b'"text"', b"1e999", b'{"a": ' * 50):
                    r = client.request(method, path, content=raw, headers={
                        **headers, "content-type": "application/json"})
                    assert r.status_code < 500, f"{method} {info.path} with {raw!r}: {r.text}"
    assert swept > 100
