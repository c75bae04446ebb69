"""TOTP multi-factor: setup, confirm, login with a code (each usable once), recovery codes,
disable."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from sqlalchemy import select

from tests.auth.helpers import bearer, login, security_events, totp_code


def _enable(client, headers) -> tuple[str, list[str]]:
    r = client.post("/api/v1/auth/mfa/setup", headers=headers)
    assert r.status_code == 200, r.text
    secret = r.json()["secret"]
    r = client.post("/api/v1/auth/mfa/confirm", headers=headers,
                    json={"code": totp_code(secret, -1)})
    assert r.status_code == 200, r.text
    return secret, r.json()["recovery_codes"]


def test_setup_returns_uri_but_login_needs_no_code_until_confirmed(client, signed_in, db):
    from api.auth.models import User

    user, password, tokens = signed_in
    r = client.post("/api/v1/auth/mfa/setup", headers=bearer(tokens["access_token"]))
    uri = urlparse(r.json()["provisioning_uri"])
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [r.json()["secret"]]
    assert parse_qs(uri.query)["issuer"] == ["EHB-5"]
    db.expire_all()
    stored = db.get(User, user.id)
    # Stored encrypted: the database alone does not reveal the second factor.
    from sqlalchemy import text

    from api.core.fieldcrypt import is_encrypted

    raw = db.execute(text("SELECT mfa_secret FROM users WHERE id = :i"), {"i": user.id}).scalar_one()
    assert is_encrypted(raw) and r.json()["secret"] not in raw
    assert stored.mfa_secret == r.json()["secret"]
    assert stored.mfa_enabled_at is None
    assert login(client, user.email, password).status_code == 200
    r = client.post("/api/v1/auth/mfa/confirm", headers=bearer(tokens["access_token"]),
                    json={"code": "000000" if totp_code(r.json()["secret"]) != "000000"
                          else "111111"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_mfa_code"
    db.expire_all()
    assert db.get(User, user.id).mfa_enabled_at is None


def test_login_with_totp_each_code_once(client, signed_in, db):
    from api.auth.models import RecoveryCode

    user, password, tokens = signed_in
    secret, codes = _enable(client, bearer(tokens["access_token"]))
    assert len(codes) == 10 and len(set(codes)) == 10
    stored = list(db.scalars(select(RecoveryCode.code_hash).where(RecoveryCode.user_id == user.id)))
    assert len(stored) == 10 and not set(codes) & set(stored)
    assert security_events(db, "mfa_enabled", user_id=user.id)

    r = login(client, user.email, password)
    assert r.status_code == 401 and r.json()["error"]["code"] == "mfa_required"
    # The confirm code was used: it cannot log in.
    r = login(client, user.email, password, totp_code=totp_code(secret, -1))
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_mfa_code"
    code = totp_code(secret)
    assert login(client, user.email, password, totp_code=code).status_code == 200
    r = login(client, user.email, password, totp_code=code)  # replay
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_mfa_code"
    # An older step than the last accepted one is refused too.
    assert login(client, user.email, password, totp_code=totp_code(secret, -1)).status_code == 401
    assert login(client, user.email, password,
                 totp_code=totp_code(secret, 1)).status_code == 200
    assert len(security_events(db, "login_failed", user_id=user.id)) == 3


def test_recovery_codes_work_once_each(client, signed_in, db):
    user, password, tokens = signed_in
    _, codes = _enable(client, bearer(tokens["access_token"]))
    r = login(client, user.email, password, recovery_code=codes[0].upper().replace("-", " "))
    assert r.status_code == 200, r.text
    r = login(client, user.email, password, recovery_code=codes[0])
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_mfa_code"
    assert login(client, user.email, password, recovery_code=codes[1]).status_code == 200
    assert security_events(db, "mfa_recovery_code_used", user_id=user.id)[-1].details == {
        "remaining": 8}


def test_wrong_codes_count_towards_lockout(client, signed_in):
    user, password, tokens = signed_in
    secret, _ = _enable(client, bearer(tokens["access_token"]))
    wrong = "123456" if totp_code(secret) != "123456" else "654321"
    codes = [login(client, user.email, password, totp_code=wrong).status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    assert login(client, user.email, password, totp_code=totp_code(secret)).status_code == 429


def test_setup_twice_conflicts_and_disable_needs_proof(client, signed_in, db):
    from api.auth.models import RecoveryCode, User

    user, password, tokens = signed_in
    headers = bearer(tokens["access_token"])
    secret, codes = _enable(client, headers)
    r = client.post("/api/v1/auth/mfa/setup", headers=headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "mfa_already_enabled"
    r = client.post("/api/v1/auth/mfa/disable", headers=headers, json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "proof_required"
    r = client.post("/api/v1/auth/mfa/disable", headers=headers, json={"password": "nope nope"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_proof"
    db.expire_all()
    assert db.get(User, user.id).mfa_enabled_at is not None

    r = client.post("/api/v1/auth/mfa/disable", headers=headers, json={"code": totp_code(secret)})
    assert r.status_code == 200, r.text
    db.expire_all()
    stored = db.get(User, user.id)
    assert stored.mfa_enabled_at is None and stored.mfa_secret is None
    assert db.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)).all() == []
    assert security_events(db, "mfa_disabled", user_id=user.id)[0].details == {"proof": "code"}
    assert login(client, user.email, password).status_code == 200
    r = client.post("/api/v1/auth/mfa/disable", headers=headers, json={"password": password})
    assert r.status_code == 409 and r.json()["error"]["code"] == "mfa_not_enabled"


def test_disable_with_password_then_confirm_needs_setup(client, signed_in):
    user, password, tokens = signed_in
    headers = bearer(tokens["access_token"])
    _enable(client, headers)
    r = client.post("/api/v1/auth/mfa/disable", headers=headers, json={"password": password})
    assert r.status_code == 200
    r = client.post("/api/v1/auth/mfa/confirm", headers=headers, json={"code": "123456"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "mfa_not_set_up"


def test_totp_secret_is_encrypted_at_rest_and_bound_to_its_column(make_user, database_url):
    import pyotp
    from sqlalchemy import text

    from api.auth.models import User
    from api.core.fieldcrypt import is_encrypted, key_id_of, keyring
    from api.db import new_session

    user, _ = make_user()
    secret = pyotp.random_base32()
    with new_session() as s:
        s.get(User, user.id).mfa_secret = secret
        s.commit()
    with new_session() as s:
        stored = s.execute(text("SELECT mfa_secret FROM users WHERE id = :i"),
                           {"i": user.id}).scalar_one()
        assert secret not in stored and is_encrypted(stored)
        assert key_id_of(stored) == keyring().active
        assert s.get(User, user.id).mfa_secret == secret
    # The column name is bound in as associated data: the value opens nowhere else.
    import pytest

    with pytest.raises(Exception):
        keyring().decrypt(stored, "users.other_column")
