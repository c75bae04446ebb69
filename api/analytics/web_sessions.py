"""The Dash app's server-side sessions in PostgreSQL (dashboards.sessions is the Flask side).

Keys are SHA-256 hex digests of the browser's opaque session id. A session is created once
with an absolute expiry; later saves update it only while it exists, so a request that loaded
a session before sign-out cannot write it back afterwards.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select, update

import api.auth.models  # noqa: F401 - users, the table WebSession.user_id refers to
from api.analytics.models import WebSession
from api.db import get_engine, session_scope


def load(key: str, now: datetime) -> str | None:
    """The session's data, or None when unknown or expired. Every Dash request reads it: one
    statement in autocommit, no ORM session or BEGIN/COMMIT round trips."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.scalar(select(WebSession.data).where(WebSession.id_hash == key,
                                                         WebSession.expires_at > now))


def create(key: str, data: str, user_id: int | None, expires_at: datetime) -> None:
    with session_scope() as session:
        session.add(WebSession(id_hash=key, data=data, user_id=user_id, expires_at=expires_at))


def update_existing(key: str, data: str, user_id: int | None, now: datetime) -> bool:
    """Write the data of a live session; False (and nothing written) when it has ended."""
    with session_scope() as session:
        result = session.execute(
            update(WebSession)
            .where(WebSession.id_hash == key, WebSession.expires_at > now)
            .values(data=data, user_id=user_id, updated_at=now))
        return result.rowcount == 1


def end(key: str) -> None:
    with session_scope() as session:
        session.execute(delete(WebSession).where(WebSession.id_hash == key))


def purge_expired(now: datetime) -> int:
    with session_scope() as session:
        return session.execute(delete(WebSession).where(WebSession.expires_at <= now)).rowcount
