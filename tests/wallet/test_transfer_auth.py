"""The transfer route checks the caller on the app's asyncio pool (require_pooled): the same
refusals as every other route, nothing posted, and a refused request leaves the ledger as it
was: expired or forged token, disabled user, signed-out session, a role without the permission."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.wallet.conftest import ledger_snapshot

URL = "/api/v1/wallets/transfers"


def _post(client, headers, to):
    return client.post(URL, headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
                       json={"to_user_id": to, "amount": 10, "currency": "USD"})


def _bearer(user_id, family=None, now=None):
    from api.auth.tokens import issue_access_token
    from api.settings import get_settings

    return {"Authorization": "Bearer " + issue_access_token(get_settings(), user_id, family, now)}


def test_transfer_refuses_bad_tokens_disabled_users_and_signed_out_sessions(
        app, client, funded, db, make_user):
    sender, _ = funded(1_000)
    payee, _ = funded(0)
    assert _post(client, _bearer(sender.id), payee.id).status_code == 201  # pooled path works
    assert list(app.state.async_pools), "the client's lifespan opened a pool on its loop"
    before = ledger_snapshot(db)

    r = _post(client, _bearer(sender.id, now=datetime.now(UTC) - timedelta(hours=2)), payee.id)
    assert r.status_code == 401 and r.json()["error"]["code"] == "token_expired"
    r = _post(client, {"Authorization": "Bearer not.a.token"}, payee.id)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
    assert _post(client, {}, payee.id).status_code == 401

    # A login family that was revoked (signed out): refused at once.
    family = uuid.uuid4().hex
    db.execute(text("INSERT INTO refresh_tokens (user_id, family_id, token_hash, expires_at,"
                    " revoked_at) VALUES (:u, :f, :h, now() + interval '1 day', now())"),
               {"u": sender.id, "f": family, "h": uuid.uuid4().hex})
    db.commit()
    r = _post(client, _bearer(sender.id, family), payee.id)
    assert r.status_code == 401 and r.json()["error"]["code"] == "session_revoked"

    analyst, _ = make_user(roles=["analyst"])
    r = _post(client, _bearer(analyst.id), payee.id)
    assert r.status_code == 403
    assert r.json()["error"]["details"] == {"permission": "wallet:transfer"}

    db.execute(text("UPDATE users SET is_active = false WHERE id = :u"), {"u": sender.id})
    db.commit()
    r = _post(client, _bearer(sender.id), payee.id)
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_disabled"
    assert ledger_snapshot(db) == before


def test_verified_token_cache_serves_only_inside_the_tokens_validity(monkeypatch, database_url):
    import pytest

    from api.auth import dependencies
    from api.auth.tokens import issue_access_token
    from api.core.errors import Unauthorized
    from api.settings import get_settings

    settings = get_settings()
    calls = []
    real_decode = dependencies.decode_access_token

    def spy(s, token):
        calls.append(token)
        return real_decode(s, token)

    monkeypatch.setattr(dependencies, "decode_access_token", spy)
    token = issue_access_token(settings, 424242, None)
    first = dependencies._verified_claims(settings, token)
    assert dependencies._verified_claims(settings, token) == first and len(calls) == 1
    # Past its exp by the process clock: verified afresh, not served from the cache.
    exp = first.expires_at
    monkeypatch.setattr(dependencies.time, "time", lambda: exp + 1)
    dependencies._verified_claims(settings, token)
    assert len(calls) == 2
    monkeypatch.undo()
    monkeypatch.setattr(dependencies, "decode_access_token", spy)
    # Another signing secret: verified afresh (and refused, the signature no longer matches).
    other = settings.model_copy(update={"jwt_secret": type(settings.jwt_secret)("x" * 48)})
    with pytest.raises(Unauthorized):
        dependencies._verified_claims(other, token)
    # A token differing in one signature character is never a hit.
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(Unauthorized):
        dependencies._verified_claims(settings, forged)


def test_the_callers_refusal_comes_before_the_requests_own_errors(app, client, funded, db,
                                                                   make_user):
    """The caller's row is checked in the transfer's own statement; a request that fails before
    that statement (no Idempotency-Key, a bad body, a bad amount) still answers 401/403 first
    when the caller has no right, and only a caller's real attempt counts for the fraud rule."""
    sender, _ = funded(1_000)
    payee, _ = funded(0)
    analyst, _ = make_user(roles=["analyst"])

    def failed_attempts(user_id):
        return db.execute(text("SELECT count(*) FROM fraud_decisions WHERE user_id = :u AND "
                               "outcome = 'failed'"), {"u": user_id}).scalar_one()

    before = ledger_snapshot(db)
    for headers, body in [({}, {"to_user_id": payee.id, "amount": 10, "currency": "USD"}),
                          ({"Idempotency-Key": uuid.uuid4().hex}, {"amount": "ten"}),
                          ({"Idempotency-Key": uuid.uuid4().hex},
                           {"to_user_id": payee.id, "amount": -5, "currency": "USD"})]:
        r = client.post(URL, headers={**_bearer(analyst.id), **headers}, json=body)
        assert r.status_code == 403, r.text
        assert r.json()["error"]["details"] == {"permission": "wallet:transfer"}
    r = client.post(URL, headers={**_bearer(analyst.id), "Idempotency-Key": "k" * 20},
                    content=b"{not json")
    assert r.status_code == 403
    assert failed_attempts(analyst.id) == 0

    r = client.post(URL, headers={**_bearer(sender.id), "Idempotency-Key": uuid.uuid4().hex},
                    json={"to_user_id": payee.id, "amount": "ten", "currency": "USD"})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["loc"] == ["body", "amount"]
    r = client.post(URL, headers={**_bearer(sender.id), "Idempotency-Key": uuid.uuid4().hex},
                    content=b"{not json")
    assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json"
    r = _post(client, _bearer(sender.id), sender.id)  # to self: the caller's own refusal
    assert r.status_code == 422 and r.json()["error"]["code"] == "transfer_to_self"
    assert failed_attempts(sender.id) == 1

    db.execute(text("UPDATE users SET is_active = false WHERE id = :u"), {"u": sender.id})
    db.commit()
    r = client.post(URL, headers=_bearer(sender.id),  # no Idempotency-Key either
                    json={"to_user_id": payee.id, "amount": 10, "currency": "USD"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "account_disabled"
    assert ledger_snapshot(db) == before
    assert failed_attempts(sender.id) == 1


def test_transfer_body_is_documented_in_openapi(client):
    op = client.get("/openapi.json").json()["paths"]["/api/v1/wallets/transfers"]["post"]
    schema = op["requestBody"]["content"]["application/json"]["schema"]
    assert schema["required"] == ["to_user_id", "amount", "currency"]
