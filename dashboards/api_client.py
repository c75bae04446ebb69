"""Calls from the dashboard to the platform API on behalf of the signed-in viewer (their own
access token from the session), so the API's permissions apply, not the dashboard's."""

from __future__ import annotations

import httpx

from dashboards.context import ctx, viewer


class ApiError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def call(method: str, path: str, **kwargs) -> dict | list | None:
    ident = viewer()
    try:
        with ctx().api() as client:
            resp = client.request(method, path, headers={
                "Authorization": f"Bearer {ident.access_token}"}, **kwargs)
    except httpx.HTTPError as exc:
        raise ApiError(503, f"API unreachable: {type(exc).__name__}") from None
    if resp.status_code == 401:
        raise ApiError(401, "your session with the API has expired: sign out and in again")
    if resp.status_code >= 400:
        try:
            message = resp.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            message = f"API answered {resp.status_code}"
        raise ApiError(resp.status_code, message)
    return resp.json() if resp.content else None
