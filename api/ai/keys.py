"""Buyers' API keys: `ehbai_<prefix>_<secret>`. The prefix (public) finds the row, the secret
(256 random bits) is stored as its SHA-256: a slow password hash adds nothing for a random
secret and would cost tens of milliseconds per call. The key is shown once, at creation.

`ApiKeyAuth` is the invoke route's permission dependency: it only reads the key off the
request (401 when there is none or it is malformed); whether it exists, is revoked, expired,
in scope and its owner active is checked by the reservation statement itself (api/ai/sql.py),
so there is no second round trip and a revocation takes effect on the next call."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

from fastapi import Request

from api.auth.dependencies import PermissionDependency
from api.core.errors import Unauthorized
from api.ai.permissions import INVOKE

KEY_PREFIX = "ehbai_"
_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_KEY_RE = re.compile(r"^ehbai_([a-z2-7]{12})_([A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class PresentedKey:
    prefix: str
    secret_hash: str


def new_key() -> tuple[str, str, str]:
    """(full key, prefix, secret hash)."""
    prefix = "".join(secrets.choice(_ALPHABET) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    return f"{KEY_PREFIX}{prefix}_{secret}", prefix, hash_secret(secret)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse(raw: str | None) -> PresentedKey:
    if not raw:
        raise Unauthorized("an API key is required: Authorization: Bearer ehbai_... or "
                           "X-API-Key", code="unauthorized",
                           headers={"WWW-Authenticate": "Bearer"})
    match = _KEY_RE.fullmatch(raw.strip())
    if match is None:
        raise Unauthorized("unknown API key", code="invalid_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
    return PresentedKey(match.group(1), hash_secret(match.group(2)))


class ApiKeyAuth(PermissionDependency):
    """The key presented with the request (Bearer or X-API-Key header)."""

    def __init__(self):
        super().__init__(INVOKE)

    def __call__(self, request: Request) -> PresentedKey:  # type: ignore[override]
        raw = request.headers.get("x-api-key")
        if raw is None:
            auth = request.headers.get("authorization", "")
            scheme, _, value = auth.partition(" ")
            raw = value if scheme.lower() == "bearer" else None
        return parse(raw)
