"""In-app push over WebSocket: token auth (query or first message), refusals, live relay."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from api.notifications import service
from api.notifications.delivery import deliver

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
