"""Two refreshes racing with one token (two tabs of the dashboard, a retried request) are not
theft: within the reuse leeway, from the same client, while the successor is unused, the
replay gets a sibling token of the same login. Anything else is still reuse detection."""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select, update

from tests.auth.helpers import bearer, security_events


def _refresh(client, token: str, agent: str = "testclient"):
    return client.post("/api/v1/auth/refresh", json={"refresh_token": token},
                       headers={"User-Agent": agent})


def test_replay_by_the_same_client_within_the_leeway_gets_a_sibling(client, signed_in, db):
    from api.auth.models import RefreshToken

    user, _, first = signed_in
    a = _refresh(client, first["refresh_token"])
    b = _refresh(client, first["refresh_token"])
    assert a.status_code == 200 and b.status_code == 200, b.text
    a, b = a.json(), b.json()
    assert a["refresh_token"] != b["refresh_token"] and a["session_id"] == b["session_id"]
    # Both callers keep a working login: neither token was revoked by the other.
    for pair in (a, b):
        assert client.get("/api/v1/auth/me", headers=bearer(pair["access_token"])).status_code == 200
        assert _refresh(client, pair["refresh_token"]).status_code == 200
    assert security_events(db, "refresh_token_reuse", user_id=user.id) == []
    db.expire_all()
    live = db.scalars(select(RefreshToken).where(RefreshToken.family_id == first["session_id"],
                                                 RefreshToken.revoked_at.is_(None),
                                                 RefreshToken.rotated_at.is_(None))).all()
    assert len(live) == 2  # the two newest, one per caller


def test_replay_from_another_client_is_reuse_even_within_the_leeway(client, new_client,
                                                                    signed_in, db):
    user, _, first = signed_in
    assert _refresh(client, first["refresh_token"]).status_code == 200
    thief = new_client()
    r = _refresh(thief, first["refresh_token"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_reused"
    assert len(security_events(db, "refresh_token_reuse", user_id=user.id)) == 1


def test_replay_with_another_user_agent_is_reuse(client, make_user, db):
    from tests.auth.helpers import login

    user, password = make_user()
    first = login(client, user.email, password).json()
    assert _refresh(client, first["refresh_token"]).status_code == 200
    r = _refresh(client, first["refresh_token"], agent="curl/8.0")
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_reused"


def test_replay_after_the_leeway_or_after_the_successor_was_used_is_reuse(client, make_user,
                                                                          db):
    from api.auth.models import RefreshToken
    from tests.auth.helpers import login

    user, password = make_user()
    first = login(client, user.email, password).json()
    second = _refresh(client, first["refresh_token"]).json()
    db.execute(update(RefreshToken).where(RefreshToken.family_id == first["session_id"],
                                          RefreshToken.rotated_at.is_not(None))
               .values(rotated_at=RefreshToken.rotated_at - timedelta(seconds=11)))
    db.commit()
    r = _refresh(client, first["refresh_token"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_reused"
    assert _refresh(client, second["refresh_token"]).status_code == 401  # family revoked

    # Within the leeway, but the successor has been rotated since: a replay of history.
    first = login(client, user.email, password).json()
    second = _refresh(client, first["refresh_token"]).json()
    assert _refresh(client, second["refresh_token"]).status_code == 200
    r = _refresh(client, first["refresh_token"])
    assert r.status_code == 401 and r.json()["error"]["code"] == "refresh_token_reused"


def test_two_refreshes_at_the_same_moment_both_succeed(app, make_user):
    from fastapi.testclient import TestClient

    from tests.auth.helpers import login

    user, password = make_user()
    with TestClient(app, client=("10.250.0.1", 50000)) as c:
        token = login(c, user.email, password).json()["refresh_token"]
        start = threading.Barrier(2)
        codes: list[int] = []

        def go():
            start.wait()
            codes.append(_refresh(c, token).status_code)

        threads = [threading.Thread(target=go) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert codes == [200, 200]
