"""JWT access tokens: short-lived, HS256 only, exp/nbf/iat/iss/aud all required and checked."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt

from api.core.errors import Unauthorized
from api.settings import Settings

ALGORITHM = "HS256"
# The allow-list: a token naming any other algorithm (including "none") is refused.
ALLOWED_ALGORITHMS = [ALGORITHM]
REQUIRED_CLAIMS = ["exp", "nbf", "iat", "iss", "aud", "sub", "jti"]


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    session_family: str | None
    jti: str
    # Epoch seconds: valid from max(iat, nbf) until exp (the verified token's own window).
    valid_from: float = 0.0
    expires_at: float = 0.0


def issue_access_token(settings: Settings, user_id: int, session_family: str | None,
                       now: datetime | None = None) -> str:
    now = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(seconds=settings.access_token_ttl_seconds),
        "jti": uuid.uuid4().hex,
        "sid": session_family,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=ALLOWED_ALGORITHMS,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": REQUIRED_CLAIMS},
            leeway=5,
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("access token expired", code="token_expired") from None
    except jwt.ImmatureSignatureError:
        raise Unauthorized("access token not yet valid", code="invalid_token") from None
    except jwt.InvalidTokenError as exc:
        raise Unauthorized(f"invalid access token: {exc}", code="invalid_token") from None
    try:
        user_id = int(claims["sub"])
    except (TypeError, ValueError):
        raise Unauthorized("invalid access token: bad subject", code="invalid_token") from None
    return AccessClaims(user_id=user_id, session_family=claims.get("sid"), jti=claims["jti"],
                        valid_from=max(float(claims["nbf"]), float(claims["iat"])),
                        expires_at=float(claims["exp"]))
