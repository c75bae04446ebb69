"""`require_pooled(PERMISSION)`: the auth check of an async route whose database work is one
SQL expression (a function call) on the app's asyncio pool, folded into that same statement.

The dependency verifies the bearer token (401) and applies the user's rate limit. The route then
runs its expression through `PooledAuth.execute`, whose statement reads the user row (disabled,
signed-out session, permission) and evaluates the expression only if the row passes: one round
trip instead of two on the hottest route. The row is then checked in Python exactly as
`require()` checks it, so the answers (401/403 and their codes) are the same, and a refused
request has run nothing. Any other error re-checks the caller the plain way first
(`PooledAuth.verify`), so a caller without the right gets 401/403, never a validation error.
Without a pool on this loop the dependency checks the row itself, as `require()` does."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from starlette.concurrency import run_in_threadpool

from api.auth.dependencies import (
    AUTH_ROW_SQL,
    PermissionDependency,
    Principal,
    bearer_scheme,
    claims_of,
    load_auth_row,
)
from api.auth.tokens import AccessClaims
from api.core.asyncdb import AsyncPool, pool_for
from api.core.errors import AppError
from api.core.permissions import Permission

# The same row as AUTH_ROW_SQL, and the expression evaluated only when it passes the checks
# PermissionDependency.checked makes (CASE evaluates a volatile call only in the taken branch).
_GUARDED_SQL = ("SELECT a.email, a.roles, a.is_active, a.live, CASE WHEN a.is_active AND a.live"
                " AND a.roles && %(allowed_roles)s::varchar[] THEN {expression} END FROM ("
                + AUTH_ROW_SQL + ") a")


@dataclass
class PooledAuth:
    dependency: PooledPermissionDependency
    request: Request
    claims: AccessClaims
    pool: AsyncPool | None
    principal: Principal | None = None  # set once the user row has passed the checks
    refusal: AppError | None = None  # the 401/403 the guarded statement answered

    @property
    def user_id(self) -> int:
        """The token's (verified) subject; its user row is checked by execute or verify."""
        return self.claims.user_id

    async def execute(self, conn: psycopg.AsyncConnection, expression: str,
                      params: dict[str, Any]) -> Any:
        """The value of `expression`, evaluated in the statement that checks the user row;
        401/403 (with nothing evaluated) when the row does not pass."""
        sql, auth_params = _GUARDED_SQL.format(expression=expression), self._auth_params()
        if clash := params.keys() & auth_params.keys():
            raise ValueError(f"parameter names reserved for the auth check: {sorted(clash)}")
        cursor = await conn.execute(sql, {**params, **auth_params}, prepare=True)
        row = await cursor.fetchone()
        try:
            self.principal = self.dependency.checked(self.request, self.claims,
                                                     row[:4] if row else None, hit=False)
        except AppError as exc:
            self.refusal = exc
            raise
        return row[4]

    async def verify(self) -> Principal:
        """The plain check in its own statement, before answering any other error."""
        if self.refusal is not None:
            raise self.refusal
        if self.principal is None:
            async with self.pool.connection() as conn:
                cursor = await conn.execute(AUTH_ROW_SQL, self._auth_params(), prepare=True)
                row = await cursor.fetchone()
            self.principal = self.dependency.checked(self.request, self.claims, row, hit=False)
        return self.principal

    def _auth_params(self) -> dict[str, Any]:
        return {"user_id": self.claims.user_id, "family": self.claims.session_family,
                "allowed_roles": sorted(str(r) for r in self.dependency.permission.roles)}


class PooledPermissionDependency(PermissionDependency):
    async def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    ) -> PooledAuth:
        claims = claims_of(credentials)
        pool = pool_for(request.app)
        if pool is None:
            row = await run_in_threadpool(load_auth_row, claims.user_id, claims.session_family)
            return PooledAuth(self, request, claims, None, self.checked(request, claims, row))
        await request.app.state.rate_limiter.hit_user_async(claims.user_id)  # before it runs
        return PooledAuth(self, request, claims, pool)


def require_pooled(permission: Permission) -> PooledPermissionDependency:
    return PooledPermissionDependency(permission)
