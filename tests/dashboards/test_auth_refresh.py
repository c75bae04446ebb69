"""Token refresh during revalidation, against the auth service's HTTP contract
(an httpx MockTransport stands in for the refresh route this branch does not have)."""

from __future__ import annotations

import httpx

from dashboards.auth import Identity, revalidate


def _api(calls: list[str]):
    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        auth = request.headers.get("Authorization", "")
        if request.url.path == "/api/v1/auth/me":
            if auth == "Bearer new-access":
                return httpx.Response(200, json={"id": 7, "email": "a@example.com",
                                                 "roles": ["analyst"]})
            return httpx.Response(401, json={"error": {"code": "token_expired"}})
        if request.url.path == "/api/v1/auth/refresh":
            body = request.read()
            if b"old-refresh" in body and calls.count("/api/v1/auth/refresh") == 1:
                return httpx.Response(200, json={"access_token": "new-access",
                                                 "refresh_token": "new-refresh"})
            return httpx.Response(401, json={"error": {"code": "refresh_reused"}})
        return httpx.Response(404)
    return lambda: httpx.Client(transport=httpx.MockTransport(handler), base_url="http://api")


def test_expired_access_token_is_refreshed_once_for_concurrent_callbacks():
    calls: list[str] = []
    factory = _api(calls)
    old = Identity(7, "a@example.com", ("seller",), "old-access", "old-refresh", 0.0)
    first = revalidate(factory, old)
    second = revalidate(factory, old)  # another callback with the same (old) cookie
    assert first is not None and first == second
    assert first.access_token == "new-access" and first.refresh_token == "new-refresh"
    assert first.roles == ("analyst",) and first.checked_at > 0
    assert calls.count("/api/v1/auth/refresh") == 1


def test_failed_refresh_ends_the_session_and_unreachable_api_keeps_it():
    calls: list[str] = []
    stale = Identity(7, "a@example.com", ("seller",), "bad", "unknown-refresh", 0.0)
    assert revalidate(_api(calls), stale) is None
    assert revalidate(_api(calls), Identity(7, "a", ("seller",), "bad", "", 0.0)) is None

    def down():
        def fail(request):
            raise httpx.ConnectError("refused")
        return httpx.Client(transport=httpx.MockTransport(fail), base_url="http://api")
    assert revalidate(down, stale) == stale


def test_sign_in_passes_the_browser_address_and_maps_refusals():
    import pytest

    from dashboards.auth import SignInError, sign_in

    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/auth/login":
            seen["xff"] = request.headers.get("X-Forwarded-For")
            if b"wrong" in request.read():
                return httpx.Response(401, json={"error": {"message": "wrong email or password"}})
            if b"slow" in request.read():
                return httpx.Response(429, json={"error": {"message": "try again in 30 s"}})
            return httpx.Response(200, json={"access_token": "a", "refresh_token": "r"})
        return httpx.Response(200, json={"id": 3, "email": "x@example.com", "roles": ["seller"]})

    def factory():
        return httpx.Client(transport=httpx.MockTransport(handler), base_url="http://api")

    ident = sign_in(factory, "x@example.com", "secret-pass", client_ip="203.0.113.9")
    assert seen["xff"] == "203.0.113.9"
    assert (ident.user_id, ident.roles, ident.refresh_token) == (3, ("seller",), "r")
    with pytest.raises(SignInError) as wrong:
        sign_in(factory, "x@example.com", "wrong")
    assert wrong.value.status == 401 and "wrong email" in wrong.value.message
    with pytest.raises(SignInError) as slow:
        sign_in(factory, "x@example.com", "slow")
    assert slow.value.status == 429 and "30 s" in slow.value.message
