"""User administration service functions (the API and `ehb users` call these; the actor is
the admin's user id, None from the command line)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import events, sessions
from api.auth.models import User
from api.auth.service import validate_roles
from api.core.errors import Conflict, NotFound
from api.core.permissions import Role


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def list_users(session: Session, *, email: str | None = None, role: str | None = None,
               active: bool | None = None, limit: int = 50,
               offset: int = 0) -> tuple[list[User], int]:
    """Users filtered by email substring (case-insensitive), role and active flag, by id."""
    conditions = []
    if email:
        conditions.append(User.email.ilike(f"%{_escape_like(email.strip().lower())}%",
                                           escape="\\"))
    if role:
        validate_roles([role])
        conditions.append(User.roles.any(role))
    if active is not None:
        conditions.append(User.is_active.is_(active))
    total = session.scalar(select(func.count()).select_from(User).where(*conditions)) or 0
    users = list(session.scalars(select(User).where(*conditions).order_by(User.id)
                                 .limit(limit).offset(offset)))
    return users, total


def get_user(session: Session, user_id: int, *, for_update: bool = False) -> User:
    stmt = select(User).where(User.id == user_id)
    if for_update:
        stmt = stmt.with_for_update()
    user = session.scalar(stmt)
    if user is None:
        raise NotFound(f"user {user_id} does not exist")
    return user


def _other_active_admins(session: Session, user_id: int) -> int:
    return session.scalar(select(func.count()).select_from(User).where(
        User.id != user_id, User.is_active.is_(True), User.roles.any(Role.admin.value))) or 0


def _refuse_last_admin(session: Session, user: User, what: str) -> None:
    is_active_admin = Role.admin.value in user.roles and user.is_active
    if is_active_admin and not _other_active_admins(session, user.id):
        raise Conflict(f"cannot {what} the last active admin", code="last_admin")


def set_roles(session: Session, actor_id: int | None, user_id: int, roles: list[str]) -> User:
    roles = validate_roles(roles)
    user = get_user(session, user_id, for_update=True)
    if Role.admin.value not in roles:
        _refuse_last_admin(session, user, "remove the admin role from")
    before = sorted(user.roles)
    user.roles = roles
    events.record(session, events.ROLES_CHANGED, user_id=user.id,
                  details={"by": actor_id, "before": before, "after": roles})
    session.commit()
    return user


def disable_user(session: Session, actor_id: int | None, user_id: int) -> User:
    """Disable the account and end all its sessions (access tokens stop at once too)."""
    if actor_id == user_id:
        raise Conflict("you cannot disable your own account", code="self_disable")
    user = get_user(session, user_id, for_update=True)
    _refuse_last_admin(session, user, "disable")
    user.is_active = False
    ended = sessions.revoke_user(session, user.id, "user_disabled")
    events.record(session, events.USER_DISABLED, user_id=user.id,
                  details={"by": actor_id, "sessions_ended": ended})
    session.commit()
    return user


def enable_user(session: Session, actor_id: int | None, user_id: int) -> User:
    user = get_user(session, user_id, for_update=True)
    if not user.is_active:
        user.is_active = True
        events.record(session, events.USER_ENABLED, user_id=user.id, details={"by": actor_id})
        session.commit()
    return user
