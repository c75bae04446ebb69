"""The one dependency every protected route declares: `require(PERMISSION)`.

It authenticates the bearer token (401), loads the user (disabled users and signed-out
sessions are refused, in one query), applies
the per-user rate limit, then checks the permission (403). The route-walk test reads the
`Permission` off this dependency, so a route without one fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import bindparam, exists, select, true
from sqlalchemy.orm import Session

from api.auth.models import RefreshToken, User
from api.auth.tokens import decode_access_token
from api.core.context import user_id_var
from api.core.errors import Forbidden, Unauthorized
from api.core.permissions import AUTHENTICATED, Permission
from api.deps import get_db
from api.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="access token from POST /api/v1/auth/login")


# Built once: constructing the statement and its cache key on every request cost more than
# executing it. One variant checks the token's login (refresh family) is still live.
_USER_AND_LIVE_SESSION = select(User, exists().where(
    RefreshToken.family_id == bindparam("family"), RefreshToken.revoked_at.is_(None),
)).where(User.id == bindparam("user_id"))
_USER_ONLY = select(User, true()).where(User.id == bindparam("user_id"))


@dataclass(frozen=True)
class Principal:
    user_id: int
    email: str
    roles: frozenset[str]
    session_family: str | None

    def has_role(self, role: str) -> bool:
        return role in self.roles


class PermissionDependency:
    def __init__(self, permission: Permission):
        self.permission = permission

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        session: Annotated[Session, Depends(get_db)],
    ) -> Principal:
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise Unauthorized("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
        claims = decode_access_token(get_settings(), credentials.credentials)
        # One query: the user and whether the token's login (refresh family) is still live,
        # so logout, revoke-others, password reset and disabling take effect at once.
        if claims.session_family:
            row = session.execute(_USER_AND_LIVE_SESSION, {
                "user_id": claims.user_id, "family": claims.session_family}).first()
        else:
            row = session.execute(_USER_ONLY, {"user_id": claims.user_id}).first()
        user = row[0] if row else None
        if user is None or not user.is_active:
            raise Unauthorized("account is disabled or no longer exists", code="account_disabled")
        if not row[1]:
            raise Unauthorized("this session was signed out; sign in again",
                               code="session_revoked", headers={"WWW-Authenticate": "Bearer"})
        user_id_var.set(user.id)
        # Holding the row keeps it in the request session's (weak) identity map, so a route's
        # session.get(User, principal.user_id) costs no second query.
        request.state.current_user = user
        request.app.state.rate_limiter.hit_user(user.id)
        if not self.permission.allows(user.roles):
            raise Forbidden(f"requires permission '{self.permission.name}'",
                            details={"permission": self.permission.name})
        return Principal(user.id, user.email, frozenset(user.roles), claims.session_family)


def require(permission: Permission) -> PermissionDependency:
    return PermissionDependency(permission)


# For routes any signed-in user may call (their own profile, sessions, ...).
CurrentUser = Annotated[Principal, Depends(require(AUTHENTICATED))]
