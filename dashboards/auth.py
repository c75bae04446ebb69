"""Sign-in through the auth service, in one place.

The auth service's login is not on main yet as a service function, so the dashboard verifies
credentials over HTTP: POST {api}/api/v1/auth/login {email, password} -> {access_token, ...},
then GET {api}/api/v1/auth/me with that token for the id and roles. The dashboard never sees
password hashes and never reads the users table.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import httpx

log = logging.getLogger("ehb.dashboards.auth")


class SignInError(Exception):
    def __init__(self, message: str, status: int = 401):
        super().__init__(message)
        self.message, self.status = message, status


@dataclass(frozen=True)
class Identity:
    user_id: int
    email: str
    roles: tuple[str, ...]
    access_token: str
    refresh_token: str = ""
    checked_at: float = 0.0  # when the auth service last confirmed the account and roles

    def to_session(self) -> dict:
        return {"uid": self.user_id, "email": self.email, "roles": list(self.roles),
                "token": self.access_token, "refresh": self.refresh_token,
                "checked": self.checked_at}

    @classmethod
    def from_session(cls, data: dict | None) -> "Identity | None":
        if not data or "uid" not in data:
            return None
        return cls(int(data["uid"]), data.get("email", ""), tuple(data.get("roles", ())),
                   data.get("token", ""), data.get("refresh", ""),
                   float(data.get("checked", 0.0)))


ClientFactory = Callable[[], httpx.Client]


def http_client_factory(api_url: str) -> ClientFactory:
    return lambda: httpx.Client(base_url=api_url, timeout=10)


def _message(response: httpx.Response, fallback: str) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return fallback


def sign_in(client_factory: ClientFactory, email: str, password: str,
            client_ip: str | None = None) -> Identity:
    if not email or not password:
        raise SignInError("enter your email and password", 422)
    # The auth service throttles failures per client: pass on the browser's address, or every
    # dashboard user would share the dashboard's own address and one lockout would stop all.
    # (uvicorn --proxy-headers trusts X-Forwarded-For from 127.0.0.1 by default.)
    headers = {"X-Forwarded-For": client_ip} if client_ip else {}
    try:
        with client_factory() as client:
            resp = client.post("/api/v1/auth/login", json={"email": email, "password": password},
                               headers=headers)
            if resp.status_code in (400, 401, 403, 422):
                raise SignInError(_message(resp, "wrong email or password"), 401)
            if resp.status_code == 429:
                raise SignInError(_message(resp, "too many attempts; try again later"), 429)
            if resp.status_code != 200:
                raise SignInError(f"the auth service answered {resp.status_code}", 502)
            body = resp.json()
            token = body.get("access_token")
            if not token:
                # e.g. a second factor is required: the dashboard cannot finish that flow here.
                raise SignInError(_message(resp, "sign-in needs a step the dashboard does not "
                                                 "support (MFA); use the API"), 401)
            me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
            if me.status_code != 200:
                raise SignInError(_message(me, "the auth service refused the new token"), 401)
            user = me.json()
    except httpx.HTTPError as exc:
        log.warning("auth service unreachable: %s", type(exc).__name__)
        raise SignInError("the auth service is unreachable", 503) from None
    return Identity(int(user["id"]), user["email"], tuple(user["roles"]), token,
                    body.get("refresh_token", ""), time.time())


def sign_out(client_factory: ClientFactory, ident: Identity) -> bool:
    """End the viewer's login at the auth service (its refresh family), so the access and
    refresh tokens the session held stop working. True when the API confirms it or the login
    had already ended; False when the API could not be reached (logged by the caller)."""
    def logout(client: httpx.Client, access: str, refresh: str) -> httpx.Response:
        body = {"refresh_token": refresh} if refresh else None
        resp = client.post("/api/v1/auth/logout", json=body,
                           headers={"Authorization": f"Bearer {access}"})
        if resp.status_code == 400 and body:  # a refresh token rotated meanwhile: the
            resp = client.post("/api/v1/auth/logout",  # access token names the same login
                               headers={"Authorization": f"Bearer {access}"})
        return resp

    try:
        with client_factory() as client:
            resp = logout(client, ident.access_token, ident.refresh_token)
            if resp.status_code == 401 and ident.refresh_token:
                # The access token expired (or the login ended): a refresh tells which.
                rotated = client.post("/api/v1/auth/refresh",
                                      json={"refresh_token": ident.refresh_token})
                if rotated.status_code != 200:
                    return rotated.status_code == 401  # refused: the login is over already
                tokens = rotated.json()
                resp = logout(client, tokens["access_token"], tokens.get("refresh_token", ""))
            return resp.status_code in (200, 401)
    except httpx.HTTPError as exc:
        log.warning("auth service unreachable while signing out: %s", type(exc).__name__)
        return False


# Several callbacks of one page arrive together with the same cookie; the first refreshes and
# the others reuse its result, because presenting a rotated refresh token twice ends the login.
_rotations: dict[str, tuple[float, Identity]] = {}
_rotations_lock = threading.Lock()
_ROTATION_MEMORY = 60.0


def _me(client: httpx.Client, token: str) -> dict | None:
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    if me.status_code in (401, 403):
        return None
    me.raise_for_status()
    return me.json()


def revalidate(client_factory: ClientFactory, ident: Identity) -> Identity | None:
    """Ask the auth service whether the account still stands and with which roles, refreshing
    the access token when it expired. None: the session must end (disabled, logged out).
    An unreachable auth service keeps the session as it is (logged), rather than signing
    everyone out during an API restart."""
    try:
        with client_factory() as client:
            user = _me(client, ident.access_token)
            if user is not None:
                return replace(ident, email=user["email"], roles=tuple(user["roles"]),
                               checked_at=time.time())
            if not ident.refresh_token:
                return None
            key = hashlib.sha256(ident.refresh_token.encode()).hexdigest()
            with _rotations_lock:
                now = time.time()
                for k in [k for k, (t, _) in _rotations.items() if now - t > _ROTATION_MEMORY]:
                    del _rotations[k]
                if key in _rotations:
                    return _rotations[key][1]
                resp = client.post("/api/v1/auth/refresh",
                                   json={"refresh_token": ident.refresh_token})
                if resp.status_code != 200:
                    return None
                tokens = resp.json()
                user = _me(client, tokens["access_token"])
                if user is None:
                    return None
                fresh = Identity(int(user["id"]), user["email"], tuple(user["roles"]),
                                 tokens["access_token"], tokens.get("refresh_token", ""), now)
                _rotations[key] = (now, fresh)
                return fresh
    except httpx.HTTPError as exc:
        log.warning("auth service unreachable while revalidating: %s", type(exc).__name__)
        return ident
