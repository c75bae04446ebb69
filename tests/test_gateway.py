"""Gateway behaviour shared by every service: errors, request ids, limits, health, metrics."""

from __future__ import annotations

import json
import logging

import pytest
from fastapi.testclient import TestClient


def test_health_reports_database_and_each_service(client):
    r = client.get("/health")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["auth"]["status"] == "ok"
    assert body["checks"]["auth"]["tables"] >= 5


def test_health_of_one_service_and_unknown_service(client):
    assert client.get("/health/auth").json()["checks"]["auth"]["status"] == "ok"
    r = client.get("/health/nope")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
    assert "auth" in r.json()["error"]["details"]["known"]


def test_health_fails_with_503_naming_the_broken_part(app, monkeypatch):
    from api import registry
    from api.health import router as health_router

    broken = registry.Domain("auth", "api.auth", None, lambda s: 1 / 0, False)
    monkeypatch.setattr(health_router, "domains", lambda: (broken,))
    with TestClient(app) as c:
        r = c.get("/health")
    assert r.status_code == 503
    assert r.json()["failed"] == ["auth"]
    # What failed, not why: the error text is for admins (GET /health/details, tests/test_health.py).
    assert r.json()["checks"]["auth"] == {"status": "fail"} and "ZeroDivision" not in r.text


def test_request_id_is_taken_or_made_and_in_error_bodies(client):
    r = client.get("/api/v1/auth/me", headers={"X-Request-ID": "abc-123"})
    assert r.status_code == 401
    assert r.headers["x-request-id"] == "abc-123"
    assert r.json()["error"]["request_id"] == "abc-123"
    made = client.get("/health").headers["x-request-id"]
    assert len(made) == 32
    # A header that could inject into logs is replaced, not echoed.
    r = client.get("/health", headers={"X-Request-ID": "bad id\nwith newline"})
    assert r.headers["x-request-id"] != "bad id\nwith newline"


def test_error_body_shape_for_unknown_route_and_method(client):
    r = client.get("/api/v1/does-not-exist")
    assert r.status_code == 404
    assert set(r.json()["error"]) == {"code", "message", "details", "request_id"}
    r = client.delete("/health")
    assert r.status_code == 405
    assert r.json()["error"]["code"] == "method_not_allowed"


def test_access_log_is_json_with_route_status_and_request_id(client, caplog):
    caplog.set_level(logging.INFO, logger="ehb.access")
    client.get("/health/auth?token=secret-value", headers={"X-Request-ID": "log-check-1"})
    records = [r for r in caplog.records if r.name == "ehb.access"]
    assert records, "no access log line"
    rec = records[-1]
    assert rec.route == "/health/{service}"
    assert rec.status == 200
    assert rec.request_id == "log-check-1"
    assert rec.duration_ms >= 0
    # The formatter renders one JSON object per line, without the query string's secret.
    from api.core.logging import configure_logging  # noqa: F401
    line = logging.getLogger().handlers[0].format(rec)
    assert json.loads(line)["request_id"] == "log-check-1"
    assert "secret-value" not in line


def test_metrics_expose_requests_latency_and_pool(client):
    client.get("/health")
    text = client.get("/metrics").text
    assert 'ehb_http_requests_total{method="GET",route="/health",status="200"}' in text
    assert "ehb_http_request_duration_seconds_bucket" in text
    assert 'ehb_db_pool_connections{state="checked_out"}' in text


def test_client_rate_limit_answers_429_with_retry_after(database_url):
    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(rate_limit_per_client="3/minute"))
    with TestClient(app) as c:
        codes = [c.get("/api/v1/auth/me").status_code for _ in range(4)]
        assert codes[:3] == [401, 401, 401]
        assert codes[3] == 429
        r = c.get("/api/v1/auth/me")
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        # Health probes are never throttled.
        assert c.get("/health").status_code == 200


def test_user_rate_limit(database_url, make_user, auth_headers):
    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(rate_limit_per_user="2/minute"))
    user, _ = make_user()
    with TestClient(app) as c:
        codes = [c.get("/api/v1/auth/me", headers=auth_headers(user)).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_oversized_body_is_413(database_url):
    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(max_body_bytes=1000))
    with TestClient(app) as c:
        r = c.post("/api/v1/auth/me", content=b"x" * 5000,
                   headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_cors_from_settings(database_url):
    from api.main import create_app
    from api.settings import Settings

    app = create_app(Settings(cors_origins=["https://app.example.com"]))
    with TestClient(app) as c:
        r = c.options("/health", headers={"Origin": "https://app.example.com",
                                          "Access-Control-Request-Method": "GET"})
        assert r.headers["access-control-allow-origin"] == "https://app.example.com"
        r = c.options("/health", headers={"Origin": "https://evil.example.com",
                                          "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in r.headers


def test_production_refuses_default_or_short_secret():
    from pydantic import ValidationError

    from api.settings import DEFAULT_JWT_SECRET, Settings

    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(ehb_env="production", jwt_secret=DEFAULT_JWT_SECRET)
    with pytest.raises(ValidationError, match="JWT_SECRET"):
        Settings(ehb_env="production", jwt_secret="short")
    assert Settings(ehb_env="production", jwt_secret="s" * 40).ehb_env == "production"


def test_openapi_and_docs_are_served(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/auth/me" in spec["paths"]
    assert client.get("/docs").status_code == 200



def test_unhandled_error_is_500_with_request_id_and_error_body(database_url):
    from fastapi import APIRouter

    from api.main import create_app

    app = create_app()
    boom = APIRouter()

    @boom.get("/boom-test")
    def _boom():
        raise RuntimeError("kaboom")

    app.include_router(boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/boom-test", headers={"X-Request-ID": "req-500"})
    assert r.status_code == 500
    assert r.json()["error"] == {"code": "internal_error", "message": "internal server error",
                                 "details": None, "request_id": "req-500"}
    assert "kaboom" not in r.text


def test_database_refusing_a_value_is_400_not_500(database_url):
    from fastapi import APIRouter
    from sqlalchemy import text

    from api.db import new_session
    from api.main import create_app

    app = create_app()
    router = APIRouter()

    @router.get("/nul-test")
    def _nul():
        with new_session() as session:
            session.execute(text("SELECT CAST(:v AS text)"), {"v": "a\x00b"})

    app.include_router(router)
    with TestClient(app, raise_server_exceptions=False) as c:
        r = c.get("/nul-test")
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == "invalid_value"


def test_access_log_names_the_user_of_a_sync_route(client, caplog, make_user, auth_headers):
    # /auth/me's permission check runs in a worker thread: the user must still reach the log.
    user, _ = make_user()
    caplog.set_level(logging.INFO, logger="ehb.access")
    r = client.get("/api/v1/auth/me", headers=auth_headers(user))
    assert r.status_code == 200
    rec = [r for r in caplog.records if r.name == "ehb.access"][-1]
    assert rec.route == "/api/v1/auth/me" and rec.user_id == user.id
    client.get("/health")
    assert [r for r in caplog.records if r.name == "ehb.access"][-1].user_id is None
