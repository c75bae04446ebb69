"""Login sessions as refresh-token families: every refresh rotates the token; presenting a
rotated token again means it was stolen or replayed, so the whole family is revoked."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from api.auth import events
from api.auth.models import RefreshToken, User
from api.core.errors import Unauthorized
from api.settings import get_settings


def hash_token(token: str) -> str:
    # Refresh tokens are 256-bit random: a plain SHA-256 cannot be brute-forced back.
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedRefresh:
    token: str
    family_id: str
    expires_at: datetime


def _clean_agent(user_agent: str | None) -> str | None:
    return (user_agent or "").replace("\x00", "")[:256] or None


def _new_token(session: Session, user_id: int, family_id: str, *, user_agent: str | None,
               client_ip: str | None, now: datetime) -> IssuedRefresh:
    token = secrets.token_urlsafe(32)
    expires = now + timedelta(days=get_settings().refresh_token_ttl_days)
    user_agent = _clean_agent(user_agent)
    session.add(RefreshToken(user_id=user_id, family_id=family_id, token_hash=hash_token(token),
                             expires_at=expires, user_agent=user_agent, client_ip=client_ip))
    return IssuedRefresh(token, family_id, expires)


def start(session: Session, user_id: int, *, user_agent: str | None, client_ip: str | None,
          now: datetime | None = None) -> IssuedRefresh:
    """A new login: a new family with its first refresh token (not committed)."""
    return _new_token(session, user_id, uuid.uuid4().hex, user_agent=user_agent,
                      client_ip=client_ip, now=now or datetime.now(UTC))


def revoke_family(session: Session, family_id: str, reason: str,
                  now: datetime | None = None) -> int:
    result = session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now or datetime.now(UTC), revoked_reason=reason)
    )
    return result.rowcount


def revoke_user(session: Session, user_id: int, reason: str, *, keep_family: str | None = None,
                now: datetime | None = None) -> int:
    """Revoke every session of the user (but `keep_family`); returns sessions ended."""
    conditions = [RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)]
    if keep_family:
        conditions.append(RefreshToken.family_id != keep_family)
    families = session.scalars(
        update(RefreshToken).where(*conditions)
        .values(revoked_at=now or datetime.now(UTC), revoked_reason=reason)
        .returning(RefreshToken.family_id)
    )
    return len(set(families))


def rotate(session: Session, presented: str, *, user_agent: str | None, client_ip: str | None,
           now: datetime | None = None) -> tuple[User, IssuedRefresh]:
    """Exchange a refresh token for a new one of the same family; commits either the rotation
    or, on reuse of a rotated token, the family's revocation and its security event."""
    now = now or datetime.now(UTC)
    row = session.scalar(select(RefreshToken)
                         .where(RefreshToken.token_hash == hash_token(presented))
                         .with_for_update())
    if row is None:
        raise Unauthorized("refresh token is not valid", code="invalid_refresh_token")
    if row.revoked_at is not None:
        raise Unauthorized("refresh token was revoked; sign in again", code="refresh_token_revoked")
    # A concurrent replay gets a sibling token and leaves the successor live for its caller.
    sibling = row.rotated_at is not None and _is_concurrent_replay(session, row, user_agent,
                                                                   client_ip, now)
    if row.rotated_at is not None and not sibling:
        revoke_family(session, row.family_id, "reuse_detected", now)
        events.record(session, events.REFRESH_TOKEN_REUSE, user_id=row.user_id,
                      client_ip=client_ip, details={"family_id": row.family_id,
                                                    "rotated_at": row.rotated_at.isoformat()})
        session.commit()
        raise Unauthorized("refresh token was already used; all sessions of this login were "
                           "ended, sign in again", code="refresh_token_reused")
    if row.expires_at <= now:
        raise Unauthorized("refresh token expired; sign in again", code="refresh_token_expired")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise Unauthorized("account is disabled or no longer exists", code="account_disabled")
    if not sibling:
        row.rotated_at = now
    issued = _new_token(session, row.user_id, row.family_id, user_agent=user_agent,
                        client_ip=client_ip, now=now)
    session.commit()
    return user, issued


def _is_concurrent_replay(session: Session, row: RefreshToken, user_agent: str | None,
                          client_ip: str | None, now: datetime) -> bool:
    """A rotated token presented again within the leeway, by the same client, while the token
    that replaced it is still unused: a race, not a stolen token."""
    from api.auth.settings import get_auth_settings

    leeway = get_auth_settings().refresh_reuse_leeway_seconds
    if leeway <= 0 or now - row.rotated_at > timedelta(seconds=leeway):
        return False
    # Tokens are issued in id order: the successor is the family's next token after `row`.
    successor = session.scalar(select(RefreshToken)
                               .where(RefreshToken.family_id == row.family_id,
                                      RefreshToken.id > row.id)
                               .order_by(RefreshToken.id).limit(1))
    return (successor is not None and successor.rotated_at is None
            and successor.revoked_at is None and successor.client_ip == client_ip
            and successor.user_agent == _clean_agent(user_agent))


def find_family(session: Session, presented: str) -> RefreshToken | None:
    return session.scalar(select(RefreshToken)
                          .where(RefreshToken.token_hash == hash_token(presented)))


@dataclass(frozen=True)
class SessionInfo:
    family_id: str
    started_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_ip: str | None


def active_sessions(session: Session, user_id: int,
                    now: datetime | None = None) -> list[SessionInfo]:
    """One entry per live family: its newest (current) token carries the latest use."""
    now = now or datetime.now(UTC)
    started = (select(RefreshToken.family_id, func.min(RefreshToken.created_at).label("started"))
               .where(RefreshToken.user_id == user_id).group_by(RefreshToken.family_id)
               .subquery())
    rows = session.execute(
        select(RefreshToken, started.c.started)
        .join(started, started.c.family_id == RefreshToken.family_id)
        .where(RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None),
               RefreshToken.rotated_at.is_(None), RefreshToken.expires_at > now)
        .order_by(RefreshToken.created_at.desc())
    ).all()
    return [SessionInfo(t.family_id, s, t.created_at, t.expires_at, t.user_agent, t.client_ip)
            for t, s in rows]


def family_is_live(session: Session, family_id: str) -> bool:
    return bool(session.scalar(select(func.count()).select_from(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))))


def prune_expired(session: Session, now: datetime, grace: timedelta = timedelta(days=7)) -> int:
    """Delete refresh tokens expired for longer than `grace` (refused anyway; presenting one
    later is answered as unknown). Not committed."""
    from sqlalchemy import delete

    return session.execute(delete(RefreshToken)
                           .where(RefreshToken.expires_at < now - grace)).rowcount
