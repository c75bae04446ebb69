"""The one dependency every protected route declares: `require(PERMISSION)`.

It authenticates the bearer token (401), loads the user's email, roles and active flag
(disabled users and signed-out sessions are refused, in one autocommit query), applies
the per-user rate limit, then checks the permission (403). The route-walk test reads the
`Permission` off this dependency, so a route without one fails the suite.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.auth.models import RefreshToken, User
from api.auth.tokens import AccessClaims, decode_access_token
from api.core.context import user_id_var
from api.core.errors import Forbidden, Unauthorized
from api.core.permissions import AUTHENTICATED, Permission
from api.db import get_engine
from api.settings import get_settings

bearer_scheme = HTTPBearer(auto_error=False, description="access token from POST /api/v1/auth/login")


# One driver-level statement on a pooled connection in autocommit: the user's columns the
# checks need and whether the token's login (refresh family) is still live. No ORM object,
# no statement compilation and no BEGIN/ROLLBACK round trips: the request's own session stays
# untouched, so a route that writes starts its transaction fresh (or runs in autocommit).
AUTH_ROW_SQL = (
    f"SELECT u.email, u.roles, u.is_active, %(family)s::text IS NULL OR EXISTS ("
    f"SELECT 1 FROM {RefreshToken.__tablename__} r WHERE r.family_id = %(family)s::text"
    f" AND r.revoked_at IS NULL) AS live FROM {User.__tablename__} u WHERE u.id = %(user_id)s"
)


def load_auth_row(user_id: int, family: str | None) -> tuple | None:
    # Through a SQLAlchemy Connection (not the raw driver) so engine events and
    # instrumentation still see the statement; the pool resets autocommit on return.
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        return conn.exec_driver_sql(AUTH_ROW_SQL, {"user_id": user_id, "family": family}).first()


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
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> Principal:
        claims = claims_of(credentials)
        # One query: the user and whether the token's login (refresh family) is still live,
        # so logout, revoke-others, password reset and disabling take effect at once.
        row = load_auth_row(claims.user_id, claims.session_family)
        return self.checked(request, claims, row)

    def checked(self, request: Request, claims: AccessClaims, row: tuple | None, *,
                 hit: bool = True) -> Principal:
        email, roles = _live_user(row)
        user_id_var.set(claims.user_id)
        request.state.user_id = claims.user_id  # for the access log (see the middleware)
        if hit:
            request.app.state.rate_limiter.hit_user(claims.user_id)
        if not self.permission.allows(roles):
            raise Forbidden(f"requires permission '{self.permission.name}'",
                            details={"permission": self.permission.name})
        return Principal(claims.user_id, email, frozenset(roles), claims.session_family)


def _live_user(row: tuple | None) -> tuple[str, list[str]]:
    """(email, roles) of an auth row whose user is active and whose session is live."""
    # api.auth.pooled._GUARDED_SQL makes these same checks in SQL before a transfer runs, and
    # live_logins below for open WebSockets: a condition added here must be added there too.
    if row is None or not row[2]:
        raise Unauthorized("account is disabled or no longer exists", code="account_disabled")
    email, roles, _, session_live = row
    if not session_live:
        raise Unauthorized("this session was signed out; sign in again",
                           code="session_revoked", headers={"WWW-Authenticate": "Bearer"})
    return email, roles


def authenticate_token(token: str) -> tuple[AccessClaims, Principal]:
    """The checks of require(AUTHENTICATED) for a token that does not come in a header (a
    WebSocket handshake): valid signature and claims, active user, live session. Raises
    Unauthorized. Blocking (one query): call it from a thread on an event loop."""
    claims = _verified_claims(get_settings(), token)
    email, roles = _live_user(load_auth_row(claims.user_id, claims.session_family))
    return claims, Principal(claims.user_id, email, frozenset(roles), claims.session_family)


# For a batch of open logins (WebSockets): which are still good (user active, session live).
LIVE_LOGINS_SQL = (
    f"SELECT p.user_id, p.family FROM unnest(%(users)s::bigint[], %(families)s::text[])"
    f" AS p(user_id, family) JOIN {User.__tablename__} u ON u.id = p.user_id AND u.is_active"
    f" WHERE p.family IS NULL OR EXISTS (SELECT 1 FROM {RefreshToken.__tablename__} r"
    f" WHERE r.family_id = p.family AND r.revoked_at IS NULL)"
)


def live_logins(logins: set[tuple[int, str | None]]) -> set[tuple[int, str | None]]:
    """The (user id, session family) pairs whose user is active and session live, in one
    query whatever their number. Blocking."""
    if not logins:
        return set()
    users, families = zip(*logins, strict=True)
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        rows = conn.exec_driver_sql(LIVE_LOGINS_SQL, {"users": list(users),
                                                      "families": list(families)}).all()
    return {(user_id, family) for user_id, family in rows}


def claims_of(credentials: HTTPAuthorizationCredentials | None) -> AccessClaims:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token", headers={"WWW-Authenticate": "Bearer"})
    return _verified_claims(get_settings(), credentials.credentials)


# Verified tokens, so a client presenting the same access token on every request does not pay
# the HMAC and claim parsing each time. A hit is served only while the token is plainly inside
# its own validity (iat and nbf passed, exp not reached); anything else, and every miss, goes
# through decode_access_token, which answers exactly as before. Keyed by the signing secret
# too, so a changed secret verifies afresh. Revocation is the database check, not this.
_VERIFIED: dict[tuple[str, str], AccessClaims] = {}
_VERIFIED_MAX = 10_000


def _verified_claims(settings, token: str) -> AccessClaims:
    key = (settings.jwt_secret.get_secret_value(), token)
    hit = _VERIFIED.get(key)
    if hit is not None and hit.valid_from <= time.time() < hit.expires_at:
        return hit
    claims = decode_access_token(settings, token)  # raises on anything invalid
    if len(_VERIFIED) >= _VERIFIED_MAX:
        try:
            _VERIFIED.pop(next(iter(_VERIFIED)), None)  # the oldest entry
        except (RuntimeError, StopIteration):  # another thread changed it meanwhile
            pass
    _VERIFIED[key] = claims
    return claims


def require(permission: Permission) -> PermissionDependency:
    return PermissionDependency(permission)


# For routes any signed-in user may call (their own profile, sessions, ...).
CurrentUser = Annotated[Principal, Depends(require(AUTHENTICATED))]
