"""In-app push over WebSocket: token auth (query or first message), refusals, live relay."""

from __future__ import annotations

import threading
import time
import uuid
from contextlib import ExitStack

import pytest
from sqlalchemy import text
from starlette.websockets import WebSocketDisconnect

from api.notifications import service
from api.notifications.delivery import deliver
from tests.notifications.conftest import free_port

WS = "/api/v1/notifications/ws"


def _token(user):
    from api.auth.tokens import issue_access_token
    from api.settings import get_settings

    return issue_access_token(get_settings(), user.id, session_family=None)


def _push(db, user, subject):
    mid = service.enqueue(db, channel="push", category="complaints.ticket_reply",
                          recipient=str(user.id), subject=subject, body="We replied",
                          user_id=user.id).id
    db.commit()
    return mid


def test_push_reaches_the_users_socket_only(client, db, make_user):
    alice, _ = make_user()
    bob, _ = make_user()
    with client.websocket_connect(f"{WS}?token={_token(alice)}") as ws:
        assert ws.receive_json() == {"type": "ready", "user_id": alice.id}
        assert deliver(db, _push(db, bob, "for bob")) == "sent"  # must not arrive here
        mid = _push(db, alice, "for alice")
        assert deliver(db, mid) == "sent"
        event = ws.receive_json()
        assert (event["type"], event["id"], event["subject"]) == ("notification", mid, "for alice")
        ws.send_text("ping")
        assert ws.receive_text() == "pong"


def test_token_as_first_message(client, db, make_user):
    user, _ = make_user()
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "auth", "token": _token(user)})
        assert ws.receive_json()["type"] == "ready"
        mid = _push(db, user, "hello")
        deliver(db, mid)
        assert ws.receive_json()["id"] == mid


@pytest.mark.parametrize("token", ["garbage", ""])
def test_bad_query_token_is_refused(client, token):
    with pytest.raises(WebSocketDisconnect) as e:
        with client.websocket_connect(f"{WS}?token={token}") as ws:
            ws.receive_json()
    assert e.value.code == 4401


def test_bad_first_message_is_refused(client):
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "auth", "token": "not-a-jwt"})
        assert ws.receive_json()["code"] == "unauthorized"
        with pytest.raises(WebSocketDisconnect) as e:
            ws.receive_json()
    assert e.value.code == 4401


def test_disabled_user_is_refused(client, db, make_user):
    from api.auth.models import User

    user, _ = make_user()
    db.get(User, user.id).is_active = False
    db.commit()
    with pytest.raises(WebSocketDisconnect) as e:
        with client.websocket_connect(f"{WS}?token={_token(user)}") as ws:
            ws.receive_json()
    assert e.value.code == 4401


# --- issue 13 items 3 and 4: sessions end sockets; one listener, a cap, a connect rate ---

def _sign_in(client, user, password) -> str:
    r = client.post("/api/v1/auth/login", json={"email": user.email, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _closed_within(ws, seconds: float) -> tuple[int | None, list]:
    """(close code, messages before it) if the server closes the socket within `seconds`,
    else (None, messages so far): a socket left open must fail the test, not hang it."""
    seen: dict = {"messages": []}

    def read() -> None:
        try:
            while True:
                message = ws.receive()
                if message["type"] == "websocket.close":
                    seen["code"] = message.get("code")
                    return
                seen["messages"].append(message)
        except Exception as exc:  # the test client tearing the session down
            seen["error"] = exc

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(seconds)
    return seen.get("code"), seen["messages"]


def _end_by_logout(client, db, user, token):
    assert client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"}
                       ).status_code == 200


def _end_by_password_reset(client, db, user, token):
    from datetime import timedelta

    from api.auth import email_tokens
    from api.auth.models import User

    reset = email_tokens.issue(db, db.get(User, user.id), email_tokens.PASSWORD_RESET,
                               timedelta(minutes=5))
    db.commit()
    assert client.post("/api/v1/auth/password/reset", json={
        "token": reset, "new_password": "a brand new passphrase"}).status_code == 200


def _end_by_disable(client, db, user, token):
    from api.auth.service import create_user

    admin = create_user(db, f"admin-{uuid.uuid4().hex[:8]}@example.com",
                        "admin passphrase ok", roles=["admin"], verified=True)
    db.commit()
    headers = {"Authorization": f"Bearer {_token(admin)}"}
    assert client.post(f"/api/v1/users/{user.id}/disable", headers=headers).status_code == 200


@pytest.mark.parametrize("end_session", [_end_by_logout, _end_by_password_reset,
                                         _end_by_disable], ids=["logout", "reset", "disable"])
def test_ending_the_session_closes_its_socket_and_refuses_new_ones(
        client, db, make_user, notify_settings, end_session):
    notify_settings(free_port(), push_recheck_seconds=0.2)
    user, password = make_user()
    token = _sign_in(client, user, password)
    with client.websocket_connect(f"{WS}?token={token}") as ws:
        assert ws.receive_json()["type"] == "ready"
        end_session(client, db, user, token)
        code, messages = _closed_within(ws, 10)
        assert code == 4401, f"socket still open after the session ended ({messages})"
    # Nothing pushed after the end reaches anyone, and the token opens no new socket.
    with pytest.raises(WebSocketDisconnect) as e:
        with client.websocket_connect(f"{WS}?token={token}") as ws:
            ws.receive_json()
    assert e.value.code == 4401
    with client.websocket_connect(WS) as ws:
        ws.send_json({"type": "auth", "token": token})
        assert ws.receive_json()["code"] == "unauthorized"


def test_socket_closes_when_its_access_token_expires(client, make_user, notify_settings):
    from datetime import UTC, datetime, timedelta

    from api.auth.tokens import issue_access_token
    from api.settings import get_settings

    notify_settings(free_port(), push_recheck_seconds=0.2)
    user, _ = make_user()
    settings = get_settings()
    # Issued long enough ago that it expires one second from now.
    issued = datetime.now(UTC) - timedelta(seconds=settings.access_token_ttl_seconds - 1)
    token = issue_access_token(settings, user.id, None, now=issued)
    with client.websocket_connect(f"{WS}?token={token}") as ws:
        assert ws.receive_json()["type"] == "ready"
        code, _ = _closed_within(ws, 10)
        assert code == 4401


def _listening_backends(db) -> int:
    db.rollback()
    return db.execute(text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND query ILIKE 'LISTEN%'")).scalar_one()


def test_sockets_share_one_listener_and_are_capped_per_user(client, db, make_user,
                                                            notify_settings, auth_headers):
    """Issue 13 item 4: a dozen sockets of one user held a dozen PostgreSQL connections and
    starved the API. Now a process listens on one connection for all its sockets, a user gets
    at most `push_max_sockets_per_user`, and the API stays healthy meanwhile."""
    notify_settings(free_port(), push_max_sockets_per_user=3)
    user, _ = make_user()
    with ExitStack() as stack:
        sockets = []
        for _ in range(3):
            ws = stack.enter_context(client.websocket_connect(f"{WS}?token={_token(user)}"))
            assert ws.receive_json()["type"] == "ready"
            sockets.append(ws)
        assert _listening_backends(db) == 1
        for _ in range(9):  # a dozen attempts in all: the rest are refused
            with pytest.raises(WebSocketDisconnect) as e:
                with client.websocket_connect(f"{WS}?token={_token(user)}") as ws:
                    ws.receive_json()
            assert e.value.code == 4429
        assert _listening_backends(db) == 1
        assert client.get("/health").status_code == 200
        assert client.get("/api/v1/auth/me", headers=auth_headers(user)).status_code == 200
        mid = _push(db, user, "to every open socket")
        assert deliver(db, mid) == "sent"
        assert [ws.receive_json()["id"] for ws in sockets] == [mid] * 3
        # Another user is not affected by this one's cap.
        other, _ = make_user()
        with client.websocket_connect(f"{WS}?token={_token(other)}") as ws:
            assert ws.receive_json()["type"] == "ready"
    # Closed sockets free their places.
    with client.websocket_connect(f"{WS}?token={_token(user)}") as ws:
        assert ws.receive_json()["type"] == "ready"


def test_socket_connects_are_rate_limited(client, make_user, notify_settings):
    notify_settings(free_port(), push_connect_rate_per_user="3/minute")
    user, _ = make_user()
    for _ in range(3):
        with client.websocket_connect(f"{WS}?token={_token(user)}") as ws:
            assert ws.receive_json()["type"] == "ready"
    with pytest.raises(WebSocketDisconnect) as e:
        with client.websocket_connect(f"{WS}?token={_token(user)}") as ws:
            ws.receive_json()
    assert e.value.code == 4429
    other, _ = make_user()
    with client.websocket_connect(f"{WS}?token={_token(other)}") as ws:
        assert ws.receive_json()["type"] == "ready"


def test_a_newer_token_of_the_same_user_extends_the_socket(client, db, make_user,
                                                           notify_settings):
    from datetime import UTC, datetime, timedelta

    from api.auth.tokens import issue_access_token
    from api.settings import get_settings

    notify_settings(free_port(), push_recheck_seconds=0.2)
    user, _ = make_user()
    other, _ = make_user()
    settings = get_settings()
    soon = datetime.now(UTC) - timedelta(seconds=settings.access_token_ttl_seconds - 1)
    first = issue_access_token(settings, user.id, None, now=soon)  # expires in a second
    with client.websocket_connect(f"{WS}?token={first}") as ws:
        assert ws.receive_json()["type"] == "ready"
        ws.send_json({"type": "auth", "token": _token(user)})
        assert ws.receive_json()["type"] == "reauthenticated"
        time.sleep(2)  # past the first token's expiry and several rechecks: still open
        ws.send_text("ping")
        assert ws.receive_text() == "pong"
        mid = _push(db, user, "still here")
        assert deliver(db, mid) == "sent"
        assert ws.receive_json()["id"] == mid
        ws.send_json({"type": "auth", "token": _token(other)})  # another user's: refused
        code, _ = _closed_within(ws, 10)
        assert code == 4401


def test_the_shared_listener_reconnects_after_losing_its_connection(client, db, make_user):
    listener = ("SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
                " AND application_name = 'ehb-push' AND query ILIKE 'LISTEN%'")
    user, _ = make_user()
    with client.websocket_connect(f"{WS}?token={_token(user)}") as ws:
        assert ws.receive_json()["type"] == "ready"
        db.rollback()
        [old] = db.execute(text(listener)).scalars().all()
        assert db.execute(text("SELECT pg_terminate_backend(:p)"), {"p": old}).scalar()
        for _ in range(100):  # a new listener within seconds (RECONNECT_SECONDS = 1)
            db.rollback()
            if set(db.execute(text(listener)).scalars()) - {old}:
                break
            time.sleep(0.1)
        else:
            pytest.fail("the push listener did not reconnect within 10 s")
        mid = _push(db, user, "after the reconnect")
        assert deliver(db, mid) == "sent"
        assert ws.receive_json()["id"] == mid  # the socket stayed open and is fed again
