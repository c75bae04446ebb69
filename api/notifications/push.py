"""In-app push over WebSocket at /api/v1/notifications/ws.

Auth: the access token as `?token=` or as the first message {"type": "auth", "token": ...}
(within 10 s), checked as REST checks a bearer token: signature and claims, user active,
session (login) live. A refused token closes the socket with code 4401. Once authenticated the
server sends {"type": "ready"} and relays every push notification for that user; "ping" ->
"pong"; {"type": "auth", "token": <a newer access token of the same user>} extends the socket
past its first token's expiry.

One PostgreSQL connection per API process serves every socket: PushHub LISTENs on the push
channel and hands each notification to the sockets of the user it names. Every
`push_recheck_seconds` the hub checks all open sockets' logins in one query and closes (4401)
those whose session ended (logout, password reset, sessions revoked) or whose user was
disabled, and those whose access token expired. A user may hold `push_max_sockets_per_user`
sockets per process, and connects are rate limited per client address and per user (4429).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from fastapi import WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from api.core.errors import AppError
from api.notifications.channels import PUSH_CHANNEL
from api.notifications.settings import get_notification_settings

log = logging.getLogger("ehb.notifications")
AUTH_TIMEOUT_SECONDS = 10
LISTENER_READY_SECONDS = 10
RECONNECT_SECONDS = 1.0
CLOSE_UNAUTHORIZED = 4401
CLOSE_TOO_MANY = 4429
CLOSE_TOO_SLOW = 1013  # "try again later": the client did not read its notifications
CLOSE_UNAVAILABLE = 1011
QUEUE_SIZE = 256  # unread notifications a socket may fall behind by


@dataclass(frozen=True)
class Login:
    """What an accepted token proved: whose socket, which session, until when."""
    user_id: int
    family: str | None
    expires_at: float  # epoch seconds


def _check_token(token: str) -> Login | None:
    from api.auth.dependencies import authenticate_token

    try:
        claims, principal = authenticate_token(token)
    except AppError:
        return None
    return Login(principal.user_id, claims.session_family, claims.expires_at)


@dataclass(frozen=True)
class _Close:
    code: int
    reason: str


@dataclass(eq=False)
class Subscriber:
    """One open socket: its login and the queue of what is to be sent to it."""
    login: Login
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    ended: bool = False

    def send(self, text: str) -> None:
        if self.ended:
            return
        try:
            self.queue.put_nowait(text)
        except asyncio.QueueFull:
            self.end(CLOSE_TOO_SLOW, "too many unread notifications; reconnect")

    def end(self, code: int, reason: str) -> None:
        """Close the socket after what it is sending now; nothing queued is sent any more."""
        if self.ended:
            return
        self.ended = True
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queue.put_nowait(_Close(code, reason))


class PushHub:
    """The sockets of one event loop (an API process) and the one LISTEN connection that
    feeds them. Runs while it has subscribers; the last one leaving stops it."""

    def __init__(self, conninfo: str, clock: Callable[[], float] = time.time):
        self.conninfo = conninfo
        self.clock = clock
        self.by_user: dict[int, set[Subscriber]] = {}
        self.listening = asyncio.Event()
        self._tasks: list[asyncio.Task] = []

    def join(self, subscriber: Subscriber, cap: int) -> bool:
        """Add a socket, or refuse it (False) when its user already holds `cap`."""
        group = self.by_user.setdefault(subscriber.login.user_id, set())
        if len(group) >= cap:
            return False
        group.add(subscriber)
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._listen(), name="push-listen"),
                           asyncio.create_task(self._recheck_forever(), name="push-recheck")]
        return True

    def leave(self, subscriber: Subscriber) -> None:
        group = self.by_user.get(subscriber.login.user_id)
        if group is not None:
            group.discard(subscriber)
            if not group:
                del self.by_user[subscriber.login.user_id]
        if not self.by_user:
            self.stop()

    def stop(self) -> None:
        for task in self._tasks:
            task.cancel()  # the listener's connection closes as its task unwinds
        self._tasks = []
        self.listening.clear()
        if _HUBS.get(_loop()) is self:
            del _HUBS[_loop()]

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self.conninfo, autocommit=True, application_name="ehb-push") as conn:
                    await conn.execute(f"LISTEN {PUSH_CHANNEL}")
                    self.listening.set()
                    async for note in conn.notifies():
                        self._dispatch(note.payload)
            except Exception as exc:  # the server restarted, a network blip: listen again
                self.listening.clear()
                log.warning("push listener lost its connection; reconnecting",
                            extra={"error": type(exc).__name__})
                await asyncio.sleep(RECONNECT_SECONDS)

    def _dispatch(self, payload: str) -> None:
        try:
            user_id = int(json.loads(payload)["user_id"])
        except (ValueError, KeyError, TypeError):
            return
        for subscriber in list(self.by_user.get(user_id, ())):
            subscriber.send(payload)

    async def _recheck_forever(self) -> None:
        while True:
            await asyncio.sleep(get_notification_settings().push_recheck_seconds)
            try:
                await self.recheck()
            except Exception:  # the database may be away for a moment: check again later
                log.exception("push recheck failed")

    async def recheck(self) -> None:
        """Close the sockets whose token expired, then (one query) those whose session ended
        or whose user was disabled."""
        from api.auth.dependencies import live_logins

        now = self.clock()
        open_ = [s for group in self.by_user.values() for s in group if not s.ended]
        for subscriber in open_:
            if subscriber.login.expires_at <= now:
                subscriber.end(CLOSE_UNAUTHORIZED, "access token expired")
        logins = {(s.login.user_id, s.login.family) for s in open_ if not s.ended}
        live = await run_in_threadpool(live_logins, logins) if logins else set()
        for subscriber in open_:
            if not subscriber.ended and (subscriber.login.user_id,
                                         subscriber.login.family) not in live:
                subscriber.end(CLOSE_UNAUTHORIZED, "session ended; sign in again")


_HUBS: dict[asyncio.AbstractEventLoop, PushHub] = {}


def _loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def hub() -> PushHub:
    """This event loop's hub (one per API process; test clients each run a loop)."""
    found = _HUBS.get(_loop())
    if found is None:
        from api.core.asyncdb import conninfo
        from api.settings import get_settings

        found = _HUBS[_loop()] = PushHub(conninfo(get_settings().sqlalchemy_url))
    return found


async def _within_rate(websocket: WebSocket, rate: str, scope: str, identity: str) -> bool:
    limiter = websocket.app.state.rate_limiter
    try:
        if limiter.remote:  # Redis answers over the network: not on the event loop
            await run_in_threadpool(limiter.check, rate, scope, identity)
        else:
            limiter.check(rate, scope, identity)
    except AppError:
        return False
    return True


async def _authenticate(websocket: WebSocket, token: str | None) -> Login | None:
    """The login of the token in the query (socket not yet accepted) or in the first message
    (socket accepted to read it); None after closing the socket with 4401."""
    if token is not None:
        login = await run_in_threadpool(_check_token, token)
        if login is None:
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid token")
        return login
    await websocket.accept()
    try:
        first = await asyncio.wait_for(websocket.receive_json(), AUTH_TIMEOUT_SECONDS)
        token = first.get("token") if first.get("type") == "auth" else None
    except WebSocketDisconnect:
        return None
    except (TimeoutError, ValueError, AttributeError, KeyError, RuntimeError):
        token = None
    login = await run_in_threadpool(_check_token, token) if isinstance(token, str) else None
    if login is None:
        with contextlib.suppress(RuntimeError):  # the client may be gone already
            await websocket.send_json({"type": "error", "code": "unauthorized",
                                       "message": "first message must be {type: auth, token}"})
            await websocket.close(code=CLOSE_UNAUTHORIZED, reason="invalid token")
    return login


async def _close(websocket: WebSocket, code: int, reason: str, *, accept: bool = False) -> None:
    """Close with a code. `accept` first when the handshake is still open: a refused handshake
    reaches a browser as a bare failure, an accepted-then-closed socket with its code (4429:
    back off, do not sign in again)."""
    with contextlib.suppress(RuntimeError):
        if accept:
            await websocket.accept()
        await websocket.close(code=code, reason=reason)


async def serve(websocket: WebSocket, token: str | None) -> None:
    settings = get_notification_settings()
    address = websocket.client.host if websocket.client else "unknown"
    if not await _within_rate(websocket, settings.push_connect_rate_per_client,
                              "ws-connect-client", address):
        await _close(websocket, CLOSE_TOO_MANY, "too many connects from this address")
        return
    login = await _authenticate(websocket, token)
    if login is None:
        return
    if not await _within_rate(websocket, settings.push_connect_rate_per_user,
                              "ws-connect-user", str(login.user_id)):
        await _close(websocket, CLOSE_TOO_MANY, "too many connects for this user",
                     accept=token is not None)
        return
    subscriber = Subscriber(login)
    sockets = hub()
    if not sockets.join(subscriber, settings.push_max_sockets_per_user):
        await _close(websocket, CLOSE_TOO_MANY,
                     f"at most {settings.push_max_sockets_per_user} open sockets per user",
                     accept=token is not None)
        return
    try:
        try:
            await asyncio.wait_for(sockets.listening.wait(), LISTENER_READY_SECONDS)
        except TimeoutError:
            await _close(websocket, CLOSE_UNAVAILABLE, "push is unavailable; retry later",
                         accept=token is not None)
            return
        if token is not None:
            await websocket.accept()
        await websocket.send_json({"type": "ready", "user_id": login.user_id})
        await _relay(websocket, subscriber)
    finally:
        sockets.leave(subscriber)


async def _relay(websocket: WebSocket, subscriber: Subscriber) -> None:
    """Until either side closes: queued notifications out, pings and re-auths in."""

    async def send() -> None:
        while True:
            item = await subscriber.queue.get()
            if isinstance(item, _Close):
                await _close(websocket, item.code, item.reason)
                return
            await websocket.send_text(item)

    async def receive() -> None:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text") or ""
            if text == "ping":
                subscriber.send("pong")
            elif text.startswith("{"):
                await _reauthenticate(subscriber, text)

    tasks = [asyncio.create_task(send()), asyncio.create_task(receive())]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _reauthenticate(subscriber: Subscriber, text: str) -> None:
    """{"type": "auth", "token": ...}: a newer token of the same user keeps the socket open
    past the first one's expiry; any other token closes it."""
    try:
        message = json.loads(text)
    except ValueError:
        return
    if not isinstance(message, dict) or message.get("type") != "auth":
        return
    token = message.get("token")
    login = await run_in_threadpool(_check_token, token) if isinstance(token, str) else None
    if login is None or login.user_id != subscriber.login.user_id:
        subscriber.end(CLOSE_UNAUTHORIZED, "invalid token")
        return
    subscriber.login = login
    subscriber.send(json.dumps({"type": "reauthenticated", "expires_at": login.expires_at}))
