"""Budgets and balances hold under concurrency: 200 parallel calls against a budget (or a
wallet) that allows 50 charge exactly 50 and refuse the other 150 before any provider is
called; the ledger stays balanced and nothing is left reserved. The clock is fixed (the
app's clock), so a budget period cannot turn over during the test."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from tests.ai.helpers import (IRIS_ROW, balance, fees_balance, fund, ledger_is_balanced,
                              make_key, new_user, sql)

pytestmark = pytest.mark.slow
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PRICE = 10  # iris-classifier version 1
CALLS = 200


@pytest.fixture
def fixed_clock(app):
    app.state.clock = lambda: NOW
    yield
    del app.state.clock


def _parallel(client, key: dict) -> list:
    body = {"input": {"instances": [IRIS_ROW]}, "version": "1"}

    def one(_):
        return client.post("/api/v1/ai/services/iris-classifier/invoke", json=body, headers=key)

    with ThreadPoolExecutor(max_workers=50) as pool:
        return list(pool.map(one, range(CALLS)))


def _outcomes(responses) -> dict:
    out: dict = {}
    for r in responses:
        code = "ok" if r.status_code == 200 else r.json()["error"]["code"]
        out[(r.status_code, code)] = out.get((r.status_code, code), 0) + 1
    return out


def _provider_id() -> int:
    from api.ai.builtin import provider_user
    from api.db import new_session

    with new_session() as s:
        return provider_user(s).id


def test_200_parallel_calls_against_a_budget_for_50_charge_exactly_50(
        client, auth_headers, catalog, fixed_clock):
    buyer = new_user()
    fund(buyer.id, 1_000_000)
    provider = _provider_id()
    before = (balance(buyer.id), balance(provider), fees_balance())
    row, key = make_key(client, auth_headers(buyer), budget_minor=50 * PRICE,
                        budget_period="day", service_ids=[catalog["iris-classifier"]])
    outcomes = _outcomes(_parallel(client, key))
    assert outcomes == {(200, "ok"): 50, (429, "budget_exceeded"): 150}
    after = (balance(buyer.id), balance(provider), fees_balance())
    assert (before[0] - after[0], after[1] - before[1], after[2] - before[2]) == (500, 450, 50)
    assert sql("SELECT status, count(*), sum(charge_minor) FROM ai_calls WHERE key_id = :k "
               "GROUP BY 1", k=row["id"]) == [("succeeded", 50, 500)]
    assert sql("SELECT count(DISTINCT t.id) FROM ai_calls c JOIN wallet_transactions t "
               "ON t.id = c.ledger_transaction_id WHERE c.key_id = :k", k=row["id"]) == [(50,)]
    assert sql("SELECT budget_spent, budget_reserved FROM ai_api_keys WHERE id = :k",
               k=row["id"]) == [(500, 0)]
    assert sql("SELECT reserved FROM ai_wallet_holds WHERE user_id = :u", u=buyer.id) == [(0,)]
    ledger_is_balanced()


def test_200_parallel_calls_against_a_wallet_for_50_charge_exactly_50(
        client, auth_headers, catalog, fixed_clock):
    buyer = new_user()
    fund(buyer.id, 50 * PRICE + PRICE - 1)  # 50 calls and 9 minor units: not a 51st
    _, key_a = make_key(client, auth_headers(buyer))
    _, key_b = make_key(client, auth_headers(buyer))  # two keys, one wallet
    with ThreadPoolExecutor(max_workers=2) as pool:
        halves = list(pool.map(lambda k: _parallel(client, k), [key_a, key_b]))
    outcomes = _outcomes(halves[0] + halves[1])
    assert outcomes == {(200, "ok"): 50, (402, "insufficient_balance"): 350}
    assert balance(buyer.id) == PRICE - 1
    assert sql("SELECT reserved FROM ai_wallet_holds WHERE user_id = :u", u=buyer.id) == [(0,)]
    ledger_is_balanced()
