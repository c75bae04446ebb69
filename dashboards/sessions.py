"""Server-side sessions for the Dash app (a Flask SessionInterface).

The cookie carries only an opaque random id, signed with DASH_SECRET_KEY; what the session
holds (the viewer's identity, their API access and refresh tokens, the CSRF token) stays on
the server: in PostgreSQL by default (api.analytics.web_sessions, sealed with the field keys),
or in Redis with DASH_SESSION_STORE=redis. Flask's default kept all of it in a cookie that is
signed but readable, and a copy of that cookie stayed valid after sign-out.

- Sign-in gets a new id (`renew()`), so an id planted before sign-in is worth nothing.
- Sign-out deletes the session (`end()`): the old cookie, replayed, finds nothing.
- A session lives at most PERMANENT_SESSION_LIFETIME from sign-in (absolute, not sliding);
  one not signed in yet (the sign-in form's CSRF token) at most ANONYMOUS_TTL.
- Writes update a session only while it exists: a request that started before sign-out
  cannot bring the session back when it finishes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Protocol

import flask
from flask.json.tag import TaggedJSONSerializer
from flask.sessions import SecureCookieSession, SessionInterface
from itsdangerous import BadSignature, Signer

log = logging.getLogger("ehb.dashboards.sessions")

ANONYMOUS_TTL = timedelta(hours=1)
PURGE_EVERY = timedelta(minutes=10)
_SALT = "ehb-dash-session-id"
_SEAL_CONTEXT = "analytics_web_sessions.data"  # the Redis store seals like the PG column

Clock = Callable[[], datetime]


def _utcnow() -> datetime:
    return datetime.now(UTC)


class SessionStore(Protocol):
    """api.analytics.web_sessions (PostgreSQL, the default) or RedisSessionStore."""

    def load(self, key: str, now: datetime) -> str | None: ...
    def create(self, key: str, data: str, user_id: int | None, expires_at: datetime) -> None: ...
    def update_existing(self, key: str, data: str, user_id: int | None,
                        now: datetime) -> bool: ...
    def end(self, key: str) -> None: ...
    def purge_expired(self, now: datetime) -> int: ...


class RedisSessionStore:
    """DASH_SESSION_STORE=redis (with REDIS_URL): expiry is Redis's own, values are sealed
    with the field keys like the PostgreSQL column."""

    def __init__(self, url: str, prefix: str = "ehb:dash-session:"):
        import redis

        self.client = redis.Redis.from_url(url)
        self.prefix = prefix

    def _seal(self, data: str, user_id: int | None) -> str:
        from api.core.fieldcrypt import keyring

        return keyring().encrypt(json.dumps({"user_id": user_id, "data": data}), _SEAL_CONTEXT)

    def load(self, key, now):
        from api.core.fieldcrypt import keyring

        raw = self.client.get(self.prefix + key)
        if raw is None:
            return None
        return json.loads(keyring().decrypt(raw.decode(), _SEAL_CONTEXT))["data"]

    def create(self, key, data, user_id, expires_at):
        self.client.set(self.prefix + key, self._seal(data, user_id), nx=True,
                        pxat=int(expires_at.timestamp() * 1000))

    def update_existing(self, key, data, user_id, now):
        # XX: only if it still exists; KEEPTTL: the expiry set at creation stays.
        return bool(self.client.set(self.prefix + key, self._seal(data, user_id), xx=True,
                                    keepttl=True))

    def end(self, key):
        self.client.delete(self.prefix + key)

    def purge_expired(self, now):
        return 0  # Redis expires keys itself


class ServerSession(SecureCookieSession):
    """Flask's change-tracking session dict plus the id it is stored under."""

    def __init__(self, initial=None, sid: str | None = None):
        super().__init__(initial)
        self.sid = sid
        self.renewing = False
        self.ended = False


def _key(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


class ServerSideSessions(SessionInterface):
    serializer = TaggedJSONSerializer()

    def __init__(self, store: SessionStore, clock: Clock = _utcnow):
        self.store = store
        self.clock = clock
        self._last_purge: datetime | None = None
        self._purge_lock = threading.Lock()

    def _signer(self, app: flask.Flask) -> Signer:
        return Signer(app.secret_key, salt=_SALT)

    def session_id(self, app: flask.Flask, cookie: str | None) -> str | None:
        """The id a cookie carries, if its signature holds."""
        try:
            return self._signer(app).unsign(cookie).decode() if cookie else None
        except BadSignature:
            return None

    def stored(self, app: flask.Flask, cookie: str | None) -> dict | None:
        """What the server holds for this cookie; None when it opens no live session."""
        sid = self.session_id(app, cookie)
        stored = self.store.load(_key(sid), self.clock()) if sid else None
        return self.serializer.loads(stored) if stored is not None else None

    def open_session(self, app, request) -> ServerSession:
        cookie = request.cookies.get(self.get_cookie_name(app))
        data = self.stored(app, cookie)
        if data is None:
            return ServerSession()
        return ServerSession(data, sid=self.session_id(app, cookie))

    def save_session(self, app, session, response) -> None:
        if not isinstance(session, ServerSession):  # a NullSession: nothing to keep
            return
        cookie = dict(domain=self.get_cookie_domain(app), path=self.get_cookie_path(app),
                      secure=self.get_cookie_secure(app), samesite=self.get_cookie_samesite(app),
                      httponly=self.get_cookie_httponly(app))
        name = self.get_cookie_name(app)
        if session.accessed:
            response.vary.add("Cookie")
        if session.ended or (not session and session.modified):
            if session.sid:
                self.store.end(_key(session.sid))
                response.delete_cookie(name, **cookie)
                response.vary.add("Cookie")
            return
        if not session or not (session.modified or session.renewing):
            return
        now = self.clock()
        data = self.serializer.dumps(dict(session))
        user_id = _user_id(session)
        if session.sid and not session.renewing:
            # An ended session stays ended, whatever this request had loaded before.
            self.store.update_existing(_key(session.sid), data, user_id, now)
            return
        if session.sid:  # renewing: the old id ends here
            self.store.end(_key(session.sid))
        sid = secrets.token_urlsafe(32)
        expires = now + (app.permanent_session_lifetime if session.permanent else ANONYMOUS_TTL)
        self.store.create(_key(sid), data, user_id, expires)
        session.sid, session.renewing = sid, False
        response.set_cookie(name, self._signer(app).sign(sid).decode(),
                            expires=expires if session.permanent else None, **cookie)
        response.vary.add("Cookie")
        self._purge_now_and_then(now)

    def _purge_now_and_then(self, now: datetime) -> None:
        with self._purge_lock:
            if self._last_purge and now - self._last_purge < PURGE_EVERY:
                return
            self._last_purge = now
        try:
            self.store.purge_expired(now)
        except Exception:  # housekeeping: the next creation tries again
            log.warning("purging expired dashboard sessions failed", exc_info=True)


def _user_id(session: ServerSession) -> int | None:
    user = session.get("user")
    uid = user.get("uid") if isinstance(user, dict) else None
    return int(uid) if uid is not None else None


def renew() -> None:
    """At sign-in: the session continues under a new id (and the old id ends)."""
    session = flask.session
    if isinstance(session, ServerSession):
        session.renewing = True


def end() -> None:
    """At sign-out: the session is deleted on the server and its cookie removed."""
    session = flask.session
    session.clear()
    if isinstance(session, ServerSession):
        session.ended = True


def store_for(kind: str, redis_url: str | None, database_url: str | None) -> SessionStore:
    """The store DASH_SESSION_STORE names, refusing a configuration that cannot work."""
    if kind == "redis":
        if not redis_url:
            raise RuntimeError("DASH_SESSION_STORE=redis needs REDIS_URL")
        return RedisSessionStore(redis_url)
    if not database_url:
        raise RuntimeError("the Dash app keeps its sessions in PostgreSQL: set DATABASE_URL "
                           "(ehb up does), or DASH_SESSION_STORE=redis with REDIS_URL")
    from api.analytics import web_sessions

    return web_sessions  # the default store: its functions are the SessionStore interface
