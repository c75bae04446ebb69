"""Bad keys, bad input and bad providers: each refusal is the documented 4xx/5xx, and nothing
is charged or left reserved (balances, key counters, the buyer's holds, the call log).

The misbehaving providers are a small HTTP server in this process answering garbage, failing
twice before answering, or answering too late: the gateway reaches them over HTTP like any
provider."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.ai.helpers import IRIS_ROW, balance, execute, fund, make_key, new_user, sql

INVOKE = "/api/v1/ai/services/{}/invoke"
IRIS = {"input": {"instances": [IRIS_ROW]}}
GOOD = {"model": "fake", "predictions": [
    {"label": "setosa", "probabilities": {"setosa": 1.0, "versicolor": 0.0, "virginica": 0.0}}]}


class _Handler(BaseHTTPRequestHandler):
    flaky_calls = 0

    def log_message(self, *args):  # keep the test output clean
        pass

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        self._send(200 if self.path == "/health" else 404, b"{}")

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/garbage":
            self._send(200, b"<html>this is not json</html>")
        elif self.path == "/wrong-shape":
            self._send(200, json.dumps({"predictions": "setosa"}).encode())
        elif self.path == "/flaky":
            type(self).flaky_calls += 1
            if type(self).flaky_calls % 3:
                self._send(500, b"internal error")
            else:
                self._send(200, json.dumps(GOOD).encode())
        elif self.path == "/slow":
            time.sleep(1.0)
            self._send(200, json.dumps(GOOD).encode())
        else:
            self._send(404, b"{}")


@pytest.fixture(scope="module")
def bad_provider(catalog):
    """slug -> service id of services served by the misbehaving server."""
    from api.ai import service
    from api.ai.builtin import IRIS_INPUT, IRIS_OUTPUT
    from api.db import new_session

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    owner = new_user(roles=["provider"])
    ids = {}
    with new_session() as s:
        ep = service.register_endpoint(s, owner.id, name="flaky box",
                                       base_url=f"http://127.0.0.1:{server.server_port}",
                                       allow_private=True)
        for path, timeout in (("garbage", 2000), ("wrong-shape", 2000), ("flaky", 2000),
                              ("slow", 200)):
            row = service.publish_service(s, owner.id, {
                "slug": f"bad-{path}", "name": f"bad {path}", "task": "classification",
                "summary": "misbehaves", "description": "", "license": "MIT", "tags": [],
                "currency": "USD"})
            service.publish_version(s, owner.id, row.id, {
                "version": "1", "endpoint_id": ep.id, "path": f"/{path}",
                "input_schema": IRIS_INPUT, "output_schema": IRIS_OUTPUT,
                "price_per_call_minor": 25, "price_per_1k_tokens_minor": 0, "tokenizer": None,
                "max_input_tokens": None, "timeout_ms": timeout, "model_card": {}})
            ids[row.slug] = row.id
    yield ids
    server.shutdown()


def _state(user_id: int, key_id: int) -> tuple:
    """What a refused call must not change."""
    return (balance(user_id),
            sql("SELECT budget_spent, budget_reserved, window_tokens FROM ai_api_keys "
                "WHERE id = :k", k=key_id),
            sql("SELECT coalesce(sum(reserved), 0) FROM ai_wallet_holds WHERE user_id = :u",
                u=user_id),
            sql("SELECT count(*) FROM ai_calls WHERE buyer_user_id = :u AND status <> 'failed'",
                u=user_id))


def _error(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.json()["error"]["code"] == code, resp.text
    return resp.json()["error"]


def test_missing_malformed_unknown_and_revoked_keys_are_401(client, buyer, auth_headers):
    url = INVOKE.format("iris-classifier")
    _error(client.post(url, json=IRIS), 401, "unauthorized")
    _error(client.post(url, json=IRIS, headers={"X-API-Key": "sk-not-ours"}), 401,
           "invalid_api_key")
    row, key = make_key(client, auth_headers(buyer))
    forged = key["Authorization"][:-6] + "AAAAAA"  # right prefix, wrong secret
    before = _state(buyer.id, row["id"])
    _error(client.post(url, json=IRIS, headers={"Authorization": forged}), 401,
           "invalid_api_key")
    # a login token is not an API key
    _error(client.post(url, json=IRIS, headers=auth_headers(buyer)), 401, "invalid_api_key")
    assert client.post(f"/api/v1/ai/keys/{row['id']}/revoke",
                       headers=auth_headers(buyer)).json()["revoked_at"]
    _error(client.post(url, json=IRIS, headers=key), 401, "api_key_revoked")
    assert _state(buyer.id, row["id"]) == before
    # another user cannot revoke (or see) my key
    other = new_user()
    assert client.post(f"/api/v1/ai/keys/{row['id']}/revoke",
                       headers=auth_headers(other)).status_code == 404


def test_an_expired_key_and_a_disabled_account_are_401(client, buyer, auth_headers):
    from api.ai import gateway
    from api.ai.keys import parse
    from api.core.errors import AppError

    expires = datetime.now(UTC) + timedelta(hours=1)
    row, key = make_key(client, auth_headers(buyer), expires_at=expires.isoformat())
    presented = parse(key["Authorization"].split()[1])
    with pytest.raises(AppError) as refused:
        gateway.invoke(presented, "iris-classifier", IRIS["input"],
                       now=expires + timedelta(seconds=1))
    assert (refused.value.status_code, refused.value.code) == (401, "api_key_expired")
    execute("UPDATE users SET is_active = false WHERE id = :u", u=buyer.id)
    try:
        _error(client.post(INVOKE.format("iris-classifier"), json=IRIS, headers=key), 401,
               "account_disabled")
    finally:
        execute("UPDATE users SET is_active = true WHERE id = :u", u=buyer.id)


def test_a_key_without_scope_for_the_service_is_403(client, buyer, auth_headers, catalog,
                                                     bad_provider):
    row, key = make_key(client, auth_headers(buyer), service_ids=[catalog["wordllama-embed"]])
    before = _state(buyer.id, row["id"])
    err = _error(client.post(INVOKE.format("iris-classifier"), json=IRIS, headers=key), 403,
                 "key_scope")
    assert err["details"] == {"service_ids": [catalog["iris-classifier"]]}
    assert _state(buyer.id, row["id"]) == before
    # a fallback outside the scope is refused too, even when the first service is in it
    row, key = make_key(client, auth_headers(buyer), service_ids=[catalog["iris-classifier"]])
    err = _error(client.post(INVOKE.format("iris-classifier"),
                             json={**IRIS, "fallbacks": ["bad-flaky"]}, headers=key), 403,
                 "key_scope")
    assert err["details"] == {"service_ids": [bad_provider["bad-flaky"]]}
    assert _state(buyer.id, row["id"]) == before


def test_input_outside_the_schema_is_422_before_anything_is_reserved(client, buyer,
                                                                       auth_headers):
    row, key = make_key(client, auth_headers(buyer), rpm=1)
    before = _state(buyer.id, row["id"])
    for bad in ({"instances": []}, {"instances": [{**IRIS_ROW, "petal_width": "wide"}]},
                {"instances": [IRIS_ROW], "extra": 1}, {"rows": [[1, 2, 3, 4]]}, "just text"):
        err = _error(client.post(INVOKE.format("iris-classifier"), json={"input": bad},
                                 headers=key), 422, "input_schema_mismatch")
        assert err["details"]["service"] == "iris-classifier"
    _error(client.post(INVOKE.format("iris-classifier"), json={"instances": [IRIS_ROW]},
                       headers=key), 422, "validation_error")  # no "input" envelope
    _error(client.post(INVOKE.format("no-such-service"), json=IRIS, headers=key), 404,
           "service_not_found")
    _error(client.post(INVOKE.format("iris-classifier"), json={**IRIS, "version": "9"},
                       headers=key), 404, "version_not_found")
    assert _state(buyer.id, row["id"]) == before
    # the rpm=1 window was not used by any of them: one real call still passes, then 429
    assert client.post(INVOKE.format("iris-classifier"), json=IRIS, headers=key).status_code == 200
    resp = client.post(INVOKE.format("iris-classifier"), json=IRIS, headers=key)
    _error(resp, 429, "rate_limited")
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


def test_insufficient_balance_is_402_and_no_wallet_is_402(client, auth_headers, catalog):
    poor = new_user()
    fund(poor.id, 9)  # the classifier costs 10
    row, key = make_key(client, auth_headers(poor))
    before = _state(poor.id, row["id"])
    err = _error(client.post(INVOKE.format("iris-classifier"), json=IRIS, headers=key), 402,
                 "insufficient_balance")
    assert "9 available" in err["message"]
    assert _state(poor.id, row["id"]) == before
    walletless = new_user()
    _, key = make_key(client, auth_headers(walletless))
    _error(client.post(INVOKE.format("iris-classifier"), json=IRIS, headers=key), 402,
           "no_wallet")


@pytest.mark.parametrize("slug, status, code", [
    ("bad-garbage", 502, "provider_bad_output"),
    ("bad-wrong-shape", 502, "provider_bad_output"),
    ("bad-slow", 504, "provider_timeout"),
])
def test_a_provider_answering_garbage_or_too_late_costs_nothing(client, buyer, auth_headers,
                                                                bad_provider, slug, status, code):
    row, key = make_key(client, auth_headers(buyer))
    before = _state(buyer.id, row["id"])
    err = _error(client.post(INVOKE.format(slug), json=IRIS, headers=key), status, code)
    if slug == "bad-wrong-shape":
        assert err["details"]["path"] == "predictions"
    assert _state(buyer.id, row["id"]) == before
    [(call_status, error_code, charge, tx)] = sql(
        "SELECT status, error_code, charge_minor, ledger_transaction_id FROM ai_calls "
        "WHERE key_id = :k", k=row["id"])
    assert (call_status, error_code, charge, tx) == ("failed", code, 0, None)


def test_a_provider_5xx_is_retried_and_the_call_billed_once(client, buyer, auth_headers,
                                                            bad_provider):
    _Handler.flaky_calls = 0
    row, key = make_key(client, auth_headers(buyer))
    before = balance(buyer.id)
    resp = client.post(INVOKE.format("bad-flaky"), json=IRIS, headers=key)
    assert resp.status_code == 200, resp.text
    assert resp.json()["usage"]["attempts"] == 3 and _Handler.flaky_calls == 3
    assert balance(buyer.id) == before - 25
    assert sql("SELECT count(*) FROM wallet_transactions WHERE details->>'ai_call_id' = :c",
               c=str(resp.json()["call_id"])) == [(1,)]
