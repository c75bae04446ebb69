"""A killed provider process: calls that allow a fallback are served by another provider's
version (billed once, at that version's price, to that provider); calls that do not are
refused with nothing charged. Repeated failures take the endpoint out of rotation (calls skip
it without trying); a passing health check after the process is back puts it in again."""

from __future__ import annotations

import pytest

from tests.ai.helpers import (IRIS_ROW, balance, fees_balance, ledger_is_balanced, make_key,
                              model_server, new_user, sql)

pytestmark = pytest.mark.slow
INVOKE = "/api/v1/ai/services/iris-backup/invoke"
IRIS = {"input": {"instances": [IRIS_ROW]}}


@pytest.fixture(scope="module")
def backup(catalog, models_dir):
    """A second provider with its own classifier process and service `iris-backup` (32/call)."""
    from api.ai import gateway, service
    from api.ai.builtin import IRIS_INPUT, IRIS_OUTPUT
    from api.db import new_session

    proc = model_server("classifier", models_dir).start()
    owner = new_user(roles=["provider"])
    with new_session() as s:
        ep = service.register_endpoint(s, owner.id, name="backup box", base_url=proc.url,
                                       allow_private=True)
        row = service.publish_service(s, owner.id, {
            "slug": "iris-backup", "name": "Iris (backup provider)", "task": "classification",
            "summary": "iris species, second provider", "description": "", "license": "MIT",
            "tags": ["flowers"], "currency": "USD"})
        service.publish_version(s, owner.id, row.id, {
            "version": "1", "endpoint_id": ep.id, "path": "/v1/iris/1/predict",
            "input_schema": IRIS_INPUT, "output_schema": IRIS_OUTPUT,
            "price_per_call_minor": 32, "price_per_1k_tokens_minor": 0, "tokenizer": None,
            "max_input_tokens": None, "timeout_ms": 2000, "model_card": {}})
    gateway.forget_catalog()
    yield {"proc": proc, "owner": owner, "endpoint_id": ep.id, "service_id": row.id}
    proc.stop()


def _endpoint(endpoint_id: int) -> tuple:
    return sql("SELECT in_rotation, consecutive_failures FROM ai_endpoints WHERE id = :e",
               e=endpoint_id)[0]


def test_a_killed_provider_is_failed_over_or_refused_with_nothing_charged(
        client, buyer, auth_headers, backup):
    from api.ai import health
    from api.ai.builtin import provider_user
    from api.db import new_session

    _, key = make_key(client, auth_headers(buyer))
    assert client.post(INVOKE, json=IRIS, headers=key).status_code == 200  # alive: 32
    with new_session() as s:
        platform = provider_user(s).id
    backup["proc"].kill()
    money = lambda: (balance(buyer.id), balance(backup["owner"].id), balance(platform),  # noqa
                     fees_balance())
    before = money()

    # 1. no fallback allowed: refused (503), nothing charged, the failure counted
    resp = client.post(INVOKE, json=IRIS, headers=key)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "provider_unreachable"
    assert money() == before
    assert _endpoint(backup["endpoint_id"]) == (True, 1)

    # 2. fallback allowed: served by the platform's iris-classifier@1 (10), billed once to it
    resp = client.post(INVOKE, json={**IRIS, "fallbacks": ["iris-classifier@1"]}, headers=key)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert (out["service"], out["version"]) == ("iris-classifier", "1")
    assert out["usage"]["fallback_used"] and out["usage"]["charge_minor"] == 10
    assert out["output"]["predictions"][0]["label"] == "setosa"
    after = money()
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2],
            after[3] - before[3]) == (-10, 0, 9, 1)
    # the second failure in a row took the endpoint out of rotation
    assert _endpoint(backup["endpoint_id"]) == (False, 2)

    # 3. out of rotation: not even tried (no attempt), refused, nothing charged
    resp = client.post(INVOKE, json=IRIS, headers=key)
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "provider_unavailable"
    [(attempts, status)] = sql("SELECT attempts, status FROM ai_calls WHERE buyer_user_id = :u "
                               "ORDER BY id DESC LIMIT 1", u=buyer.id)
    assert (attempts, status) == (0, "failed")
    assert money() == after
    listed = client.get("/api/v1/ai/services/iris-backup", headers=auth_headers(buyer)).json()
    assert listed["healthy"] is False

    # 4. the process comes back: a health check puts the endpoint back in rotation
    backup["proc"].start()
    with new_session() as s:
        results = health.check_endpoints(s, now=health_now(), ids=[backup["endpoint_id"]])
    assert [r["ok"] for r in results] == [True]
    assert _endpoint(backup["endpoint_id"]) == (True, 0)
    resp = client.post(INVOKE, json=IRIS, headers=key)
    assert resp.status_code == 200 and resp.json()["service"] == "iris-backup"
    assert balance(backup["owner"].id) - after[1] == 32 - 3  # 10 % fee, rounded down
    ledger_is_balanced()


def test_health_checks_take_a_dead_endpoint_out_and_staff_see_it(client, auth_headers, backup,
                                                                 make_user):
    from api.ai import health
    from api.db import new_session

    backup["proc"].kill()
    try:
        with new_session() as s:
            for _ in range(2):
                [result] = health.check_endpoints(s, now=health_now(),
                                                  ids=[backup["endpoint_id"]])
                assert not result["ok"] and "ConnectError" in result["detail"]
        assert _endpoint(backup["endpoint_id"]) == (False, 2)
        staff = auth_headers(make_user(roles=["support"])[0])
        listed = {e["id"]: e for e in client.get("/api/v1/ai/endpoints/all", headers=staff).json()}
        assert listed[backup["endpoint_id"]]["in_rotation"] is False
        assert "health check" in listed[backup["endpoint_id"]]["last_error"]
        mine = client.get("/api/v1/ai/endpoints", headers=auth_headers(backup["owner"])).json()
        assert [e["id"] for e in mine] == [backup["endpoint_id"]]
    finally:
        backup["proc"].start()
    checked = client.post("/api/v1/ai/endpoints/check",
                          headers=auth_headers(make_user(roles=["analyst"])[0])).json()
    assert {r["endpoint_id"]: r["ok"] for r in checked}[backup["endpoint_id"]] is True
    assert _endpoint(backup["endpoint_id"]) == (True, 0)


def health_now():
    from api.ai.service import utcnow

    return utcnow()
