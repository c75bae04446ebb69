"""Operating the marketplace: `ehb up`'s provider services (the build step, the built-in
catalog, the processes), reservations left by a gateway that died mid-call, and schemas that
would make the gateway fetch URLs."""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta

import pytest

from tests.ai.helpers import ROOT, balance, fund, make_key, new_user, sql, wait_healthy


@pytest.fixture
def restore_catalog(catalog, providers, models_dir):
    """The test moves the built-in endpoints; the session's providers get them back after."""
    yield
    from api.ai import gateway
    from api.ai.builtin import ensure_builtin_catalog
    from api.db import new_session

    with new_session() as session:
        ensure_builtin_catalog(session, providers, models_dir)
    gateway.forget_catalog()


def test_ehb_up_builds_registers_and_starts_the_model_providers(restore_catalog, models_dir,
                                                                 monkeypatch):
    import os

    from api.ai.config import ai_settings
    from api.ai.launcher import ai_provider_services
    from tests.ai.helpers import free_port

    ports = {"AI_EMBEDDING_PORT": free_port(), "AI_CLASSIFIER_PORT": free_port()}
    for name, port in ports.items():
        monkeypatch.setenv(name, str(port))
    monkeypatch.setenv("AI_MODELS_DIR", str(models_dir))
    ai_settings.cache_clear()
    try:
        services = ai_provider_services()
    finally:
        ai_settings.cache_clear()
    assert [s.name for s in services] == ["AI provider: embedding", "AI provider: classifier"]
    urls = dict(sql("SELECT name, base_url FROM ai_endpoints WHERE name LIKE 'builtin-%'"))
    assert urls == {"builtin-embedding": f"http://127.0.0.1:{ports['AI_EMBEDDING_PORT']}",
                    "builtin-classifier": f"http://127.0.0.1:{ports['AI_CLASSIFIER_PORT']}"}
    procs = [subprocess.Popen(s.argv, cwd=ROOT, env={**os.environ, **s.env}) for s in services]
    try:
        for svc, proc in zip(services, procs):
            wait_healthy(svc.health_url, proc)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


def test_a_reservation_left_by_a_dead_gateway_is_released(client, auth_headers, catalog):
    from api.ai import gateway
    from api.ai.keys import parse

    buyer = new_user()
    fund(buyer.id, 100)
    row, key = make_key(client, auth_headers(buyer), budget_minor=50, budget_period="month")
    target = gateway.resolve("iris-classifier", "1", datetime.now(UTC))
    started = datetime.now(UTC) - timedelta(hours=1)
    # the gateway reserved, then died before calling the provider
    reservation = gateway.reserve(parse(key["Authorization"].split()[1]), [target], 10, 0,
                                  None, started)
    assert sql("SELECT budget_reserved FROM ai_api_keys WHERE id = :k", k=row["id"]) == [(10,)]
    assert gateway.release_stale_reservations(started + timedelta(minutes=5)) == 0  # too young
    assert gateway.release_stale_reservations(datetime.now(UTC)) == 1
    assert sql("SELECT status, error_code, charge_minor FROM ai_calls WHERE id = :c",
               c=reservation["call_id"]) == [("failed", "stale_reservation", 0)]
    assert sql("SELECT budget_reserved, budget_spent FROM ai_api_keys WHERE id = :k",
               k=row["id"]) == [(0, 0)]
    assert sql("SELECT reserved FROM ai_wallet_holds WHERE user_id = :u", u=buyer.id) == [(0,)]
    assert balance(buyer.id) == 100


@pytest.mark.parametrize("schema", [
    {"$ref": "https://attacker.example/schema.json"},
    {"properties": {"a": {"$ref": "#/$defs/x"}, "b": {"$ref": "http://10.0.0.1/s"}},
     "$defs": {"x": {"type": "string"}}},
])
def test_a_schema_referring_outside_itself_is_refused(client, auth_headers, make_user, schema):
    provider = auth_headers(make_user(roles=["provider"])[0])
    endpoint = client.post("/api/v1/ai/endpoints", json={
        "name": "e", "base_url": "https://models.example.org"}, headers=provider).json()
    service = client.post("/api/v1/ai/services", json={
        "slug": f"refs-{endpoint['id']}", "name": "refs", "task": "other", "summary": "s",
        "license": "MIT", "currency": "USD"}, headers=provider).json()
    resp = client.post(f"/api/v1/ai/services/{service['id']}/versions", json={
        "version": "1", "endpoint_id": endpoint["id"], "path": "/x", "input_schema": schema,
        "output_schema": {"type": "object"}, "price_per_call_minor": 1}, headers=provider)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "invalid_schema"
    assert sql("SELECT count(*) FROM ai_service_versions WHERE service_id = :s",
               s=service["id"]) == [(0,)]
    # a reference inside the schema is fine
    ok = client.post(f"/api/v1/ai/services/{service['id']}/versions", json={
        "version": "2", "endpoint_id": endpoint["id"], "path": "/x",
        "input_schema": {"properties": {"a": {"$ref": "#/$defs/x"}},
                         "$defs": {"x": {"type": "string"}}},
        "output_schema": {"type": "object"}, "price_per_call_minor": 1}, headers=provider)
    assert ok.status_code == 201, ok.text
