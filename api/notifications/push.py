"""In-app push over WebSocket at /api/v1/notifications/ws.

Auth: the access token as `?token=` or as the first message {"type": "auth", "token": ...}
(within 10 s). A bad token is refused with close code 4401. Once authenticated the server
sends {"type": "ready"} and relays every push notification for that user; "ping" -> "pong".
Each socket LISTENs on its user's PostgreSQL channel, so delivery from any worker process
reaches any API process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging

import psycopg
from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from api.core.errors import AppError
from api.notifications.channels import PUSH_CHANNEL_PREFIX

log = logging.getLogger("ehb.notifications")
AUTH_TIMEOUT_SECONDS = 10
CLOSE_UNAUTHORIZED = 4401


def _user_for_token(token: str) -> int | None:
    from api.auth.models import User
    from api.auth.tokens import decode_access_token
    from api.db import new_session
    from api.settings import get_settings

    try:
        claims = decode_access_token(get_settings(), token)
    except AppError:
        return None
    with new_session() as session:
        user = session.get(User, claims.user_id)
        return user.id if user is not None and user.is_active else None


async def _authenticate(websocket: WebSocket, token: str | None) -> int | None:
    if token is not None:
        user_id = await run_in_threadpool(_user_for_token, token)
        if user_id is None:
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid token")
            return None
        await websocket.accept()
        return user_id
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_text(), AUTH_TIMEOUT_SECONDS)
        message = json.loads(first)
        token = message.get("token") if message.get("type") == "auth" else None
    except (TimeoutError, ValueError, AttributeError):
        token = None
    except WebSocketDisconnect:
        return None
    user_id = await run_in_threadpool(_user_for_token, token) if isinstance(token, str) else None
    if user_id is None:
        await websocket.send_json({"type": "error", "code": "unauthorized",
                                   "message": "first message must be {type: auth, token}"})
        await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid token")
    return user_id


async def serve(websocket: WebSocket, token: str | None) -> None:
    from api.jobs.app import conninfo
    from api.settings import get_settings

    user_id = await _authenticate(websocket, token)
    if user_id is None:
        return
    channel = f"{PUSH_CHANNEL_PREFIX}{user_id}"
    async with await psycopg.AsyncConnection.connect(
            conninfo(get_settings().sqlalchemy_url), autocommit=True) as conn:
        await conn.execute(f'LISTEN "{channel}"')
        await websocket.send_json({"type": "ready", "user_id": user_id})

        async def relay() -> None:
            async for note in conn.notifies():
                await websocket.send_text(note.payload)

        relay_task = asyncio.create_task(relay())
        try:
            while True:
                text = await websocket.receive_text()
                if text == "ping":
                    await websocket.send_text("pong")
        except WebSocketDisconnect:
            pass
        finally:
            relay_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await relay_task
