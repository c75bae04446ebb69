"""Sign-in through the auth service, in one place.

The auth service's login is not on main yet as a service function, so the dashboard verifies
credentials over HTTP: POST {api}/api/v1/auth/login {email, password} -> {access_token, ...},
then GET {api}/api/v1/auth/me with that token for the id and roles. The dashboard never sees
password hashes and never reads the users table.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

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

    def to_session(self) -> dict:
        return {"uid": self.user_id, "email": self.email, "roles": list(self.roles),
                "token": self.access_token}

    @classmethod
    def from_session(cls, data: dict | None) -> "Identity | None":
        if not data or "uid" not in data:
            return None
        return cls(int(data["uid"]), data.get("email", ""), tuple(data.get("roles", ())),
                   data.get("token", ""))


ClientFactory = Callable[[], httpx.Client]


def http_client_factory(api_url: str) -> ClientFactory:
    return lambda: httpx.Client(base_url=api_url, timeout=10)


def _message(response: httpx.Response, fallback: str) -> str:
    try:
        return response.json()["error"]["message"]
    except (ValueError, KeyError, TypeError):
        return fallback


def sign_in(client_factory: ClientFactory, email: str, password: str) -> Identity:
    if not email or not password:
        raise SignInError("enter your email and password", 422)
    try:
        with client_factory() as client:
            resp = client.post("/api/v1/auth/login", json={"email": email, "password": password})
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
    return Identity(int(user["id"]), user["email"], tuple(user["roles"]), token)
