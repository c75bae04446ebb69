"""Calls from the dashboard to the platform API on behalf of the signed-in viewer (their own
access token from the session), so the API's permissions apply, not the dashboard's."""

from __future__ import annotations

import flask
import httpx

from dashboards.auth import revalidate

from dashboards.context import ctx, viewer


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def _send(token: str, method: str, path: str, **kwargs) -> httpx.Response:
    try:
        with ctx().api() as client:
            return client.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                  **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(503, f"API unreachable: {type(exc).__name__}") from None


def call(method: str, path: str, **kwargs) -> dict | list | None:
    ident = viewer()
    resp = _send(ident.access_token, method, path, **kwargs)
    if resp.status_code == 401:
        # The access token expired (15 min): refresh it once, keep the new one in the session.
        fresh = revalidate(ctx().api, ident)
        if fresh is None:
            flask.session.clear()
            raise ApiError(401, "your session has ended: sign in again")
        flask.session["user"] = fresh.to_session()
        resp = _send(fresh.access_token, method, path, **kwargs)
    if resp.status_code == 401:
        raise ApiError(401, "your session with the API has expired: sign out and in again")
    if resp.status_code >= 400:
        try:
            message = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"API answered {resp.status_code}"
        raise ApiError(resp.status_code, message)
    return resp.json() if resp.content else None
