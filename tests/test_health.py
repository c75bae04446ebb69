"""Issue 13 item 12: the public /health said which check failed *and* the raw database error
text. Anyone may still learn what failed; the error text is for admins only."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text


def _failing_check(session):
    # A real database error: its text names the relation and echoes the statement.
    session.execute(text('SELECT secret_column FROM "internal_ledger_shadow_9f3"'))


@pytest.fixture
def broken_health(app, monkeypatch):
    from api import registry
    from api.health import router as health_router

    broken = registry.Domain("wallet", "api.wallet", None, _failing_check, False)
    healthy = registry.Domain("auth", "api.auth", None, lambda s: {"tables": 6}, False)
    monkeypatch.setattr(health_router, "domains", lambda: (healthy, broken))
    with TestClient(app) as c:
        yield c


def test_public_health_names_the_failed_check_without_its_error_text(broken_health):
    for path in ("/health", "/health/wallet"):
        r = broken_health.get(path)
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "fail" and body["failed"] == ["wallet"]
        assert body["checks"]["wallet"] == {"status": "fail"}
        for leak in ("internal_ledger_shadow_9f3", "secret_column", "UndefinedTable",
                     "does not exist", "SELECT"):
            assert leak not in r.text, path
    ok = broken_health.get("/health").json()["checks"]["auth"]
    assert ok["status"] == "ok" and ok["tables"] == 6


def test_health_details_need_the_admin_permission(broken_health, make_user, auth_headers):
    admin, _ = make_user(roles=["admin"])
    analyst, _ = make_user(roles=["analyst"])
    assert broken_health.get("/health/details").status_code == 401
    r = broken_health.get("/health/details", headers=auth_headers(analyst))
    assert r.status_code == 403 and "internal_ledger_shadow_9f3" not in r.text
    r = broken_health.get("/health/details", headers=auth_headers(admin))
    assert r.status_code == 503
    body = r.json()
    assert body["failed"] == ["wallet"]
    assert "UndefinedTable" in body["checks"]["wallet"]["error"]
    assert "internal_ledger_shadow_9f3" in body["checks"]["wallet"]["error"]
