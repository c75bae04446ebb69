"""Known devices: a random secret kept by the client (an HttpOnly cookie, or the
`device_token` an app sends), stored as its SHA-256 per user it signed in. A sign-in from a
known device passes the account-wide login lock that failures from elsewhere cause; its own
(account, device) failure counter still applies."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.auth.models import KnownDevice
from api.auth.sessions import hash_token

COOKIE_NAME = "ehb_device"
COOKIE_PATH = "/api/v1/auth"


def find(session: Session, user_id: int, secret: str | None, now: datetime,
         ttl: timedelta) -> KnownDevice | None:
    """The user's device with this secret, if it signed in within `ttl`."""
    if not secret:
        return None
    return session.scalar(select(KnownDevice).where(
        KnownDevice.user_id == user_id, KnownDevice.device_hash == hash_token(secret),
        KnownDevice.last_login_at > now - ttl))


def remember(session: Session, user_id: int, secret: str | None, now: datetime) -> str:
    """Record a successful sign-in from this device (a new secret when it has none); returns
    the secret to hand back. Not committed."""
    secret = secret or secrets.token_urlsafe(32)
    stmt = insert(KnownDevice).values(user_id=user_id, device_hash=hash_token(secret),
                                      last_login_at=now)
    session.execute(stmt.on_conflict_do_update(
        index_elements=[KnownDevice.user_id, KnownDevice.device_hash],
        set_={"last_login_at": now}))
    return secret


def prune(session: Session, now: datetime, ttl: timedelta) -> int:
    """Delete devices not used to sign in within `ttl`. Not committed."""
    return session.execute(delete(KnownDevice)
                           .where(KnownDevice.last_login_at < now - ttl)).rowcount
