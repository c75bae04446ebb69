"""Single-use, expiring tokens sent by email (verification, password reset). Only their
SHA-256 is stored; the token itself exists only in the delivered mail (it is minted when the
mail is delivered, see api.auth.mail)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.auth.models import EmailToken, User
from api.auth.sessions import hash_token
from api.core.errors import AppError

VERIFY_EMAIL = "verify_email"
PASSWORD_RESET = "password_reset"


def issue(session: Session, user: User, purpose: str, ttl: timedelta,
          now: datetime | None = None) -> str:
    """A new token; earlier unused tokens of the same purpose stop working (not committed)."""
    now = now or datetime.now(UTC)
    session.execute(update(EmailToken).where(
        EmailToken.user_id == user.id, EmailToken.purpose == purpose, EmailToken.used_at.is_(None)
    ).values(used_at=now))
    token = secrets.token_urlsafe(32)
    session.add(EmailToken(user_id=user.id, purpose=purpose, token_hash=hash_token(token),
                           expires_at=now + ttl))
    session.flush()
    return token


def consume(session: Session, token: str, purpose: str, now: datetime | None = None) -> User:
    """Mark the token used and return its user, or refuse (400) if unknown, used or expired."""
    now = now or datetime.now(UTC)
    row = session.scalar(select(EmailToken).where(
        EmailToken.token_hash == hash_token(token), EmailToken.purpose == purpose
    ).with_for_update())
    what = "verification" if purpose == VERIFY_EMAIL else "reset"
    if row is None or row.used_at is not None:
        raise AppError(f"{what} token is invalid or was already used", code="invalid_token")
    if row.expires_at <= now:
        raise AppError(f"{what} token has expired; request a new one", code="token_expired")
    user = session.get(User, row.user_id)
    if user is None or not user.is_active:
        raise AppError(f"{what} token is invalid or was already used", code="invalid_token")
    row.used_at = now
    return user


def prune_expired(session: Session, now: datetime, grace: timedelta = timedelta(days=7)) -> int:
    """Delete email tokens expired for longer than `grace`. Not committed."""
    from sqlalchemy import delete

    return session.execute(delete(EmailToken)
                           .where(EmailToken.expires_at < now - grace)).rowcount
