"""The one dependency every protected route declares: `require(PERMISSION)`.

It authenticates the bearer token (401), loads the user (disabled users are refused), applies
the per-user rate limit, then checks the permission (403). The route-walk test reads the
`Permission` off this dependency, so a route without one fails the suite.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.auth.models import User
from api.auth.tokens import decode_access_token
from api.core.context import user_id_var
from api.core.errors import Forbidden, Unauthorized
from api.core.permissions import AUTHENTICATED, Permission
from api.deps import get_db
from api.settings import get_settings

_bearer = HTTPBearer(auto_error=False, description="access token from POST /api/v1/auth/login")


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
        user = session.get(User, claims.user_id)
        if user is None or not user.is_active:
            raise Unauthorized("account is disabled or no longer exists", code="account_disabled")
        user_id_var.set(user.id)
        request.app.state.rate_limiter.hit_user(user.id)
        if not self.permission.allows(user.roles):
            raise Forbidden(f"requires permission '{self.permission.name}'",
                            details={"permission": self.permission.name})
        return Principal(user.id, user.email, frozenset(user.roles), claims.session_family)


def require(permission: Permission) -> PermissionDependency:
    return PermissionDependency(permission)


# For routes any signed-in user may call (their own profile, sessions, ...).
CurrentUser = Annotated[Principal, Depends(require(AUTHENTICATED))]
