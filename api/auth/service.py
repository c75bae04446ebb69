"""Auth service functions. The API, the CLI, the jobs and the simulator all call these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.models import User
from api.auth.passwords import check_policy, hash_password
from api.core.errors import Conflict, Unprocessable
from api.core.permissions import Role


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - {r.value for r in Role})
    if unknown:
        raise Unprocessable(f"unknown role(s): {', '.join(unknown)}",
                            details={"allowed": [r.value for r in Role]})
    if not roles:
        raise Unprocessable("a user needs at least one role")
    return sorted(set(roles))


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(session: Session, email: str, password: str, *, roles: list[str] | None = None,
                display_name: str = "", verified: bool = False) -> User:
    """Create a user (not committed: callers commit with the rest of their unit of work)."""
    email = normalize_email(email)
    check_policy(password, email=email)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict("an account with this email already exists", code="email_taken")
    user = User(
        email=email,
        display_name=display_name,
        password_hash=hash_password(password),
        roles=validate_roles(roles or [Role.customer.value]),
        email_verified_at=datetime.now(UTC) if verified else None,
    )
    session.add(user)
    session.flush()
    return user
