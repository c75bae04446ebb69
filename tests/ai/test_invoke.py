"""A call through the HTTP API reaches the real model process and returns its output; it is
metered (tokens by the model's own tokenizer, latency) and billed exactly once through the
ledger: buyer -charge, provider +charge - fee, fees +fee."""

from __future__ import annotations

import httpx
import numpy as np

from tests.ai.helpers import (IRIS_ROW, VIRGINICA_ROW, balance, fees_balance, ledger_is_balanced,
                              make_key, sql)


def test_classifier_call_returns_the_onnx_models_prediction_and_is_billed_once(
        client, buyer, auth_headers, catalog, providers, models_dir):
    from api.ai import classifier
    from api.ai.builtin import provider_user
    from api.db import new_session

    with new_session() as s:
        provider = provider_user(s)
    before = (balance(buyer.id), balance(provider.id), fees_balance())
    _, key = make_key(client, auth_headers(buyer))
    body = {"input": {"instances": [IRIS_ROW, VIRGINICA_ROW]}, "version": "1"}
    resp = client.post("/api/v1/ai/services/iris-classifier/invoke", json=body, headers=key)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    # the same answer as the model process gives when called directly, and as the .onnx file
    direct = httpx.post(f"{providers['classifier']}/v1/iris/1/predict", json=body["input"]).json()
    assert out["output"] == direct
    local = classifier.OnnxClassifier.load(models_dir, "1").predict(
        [[r[f] for f in classifier.FEATURES] for r in (IRIS_ROW, VIRGINICA_ROW)])
    assert [p["label"] for p in out["output"]["predictions"]] == ["setosa", "virginica"]
    assert out["output"]["predictions"] == local
    usage = out["usage"]
    assert (usage["charge_minor"], usage["tokens"], usage["attempts"]) == (10, 0, 1)
    assert usage["provider_latency_ms"] > 0 and usage["latency_ms"] >= usage["provider_latency_ms"]
    # money: 10 from the buyer, 9 to the provider, 1 (10 %) to fees, in one ledger transaction
    after = (balance(buyer.id), balance(provider.id), fees_balance())
    assert (after[0] - before[0], after[1] - before[1], after[2] - before[2]) == (-10, 9, 1)
    [(status, charge, share, fee, tx)] = sql(
        "SELECT status, charge_minor, provider_minor, fee_minor, ledger_transaction_id "
        "FROM ai_calls WHERE id = :id", id=out["call_id"])
    assert (status, charge, share, fee) == ("succeeded", 10, 9, 1)
    postings = sql("SELECT a.code, e.amount FROM wallet_entries e JOIN wallet_accounts a "
                   "ON a.id = e.account_id WHERE e.transaction_id = :tx ORDER BY e.amount", tx=tx)
    assert postings == [(f"user:{buyer.id}:USD", -10), ("system:fees:USD", 1),
                        (f"user:{provider.id}:USD", 9)]
    [(kind, details)] = sql("SELECT kind, details FROM wallet_transactions WHERE id = :tx", tx=tx)
    assert kind == "ai_usage" and details["ai_call_id"] == out["call_id"]
    ledger_is_balanced()


def test_embedding_call_counts_tokens_with_the_models_tokenizer_and_prices_them(
        client, buyer, auth_headers, catalog):
    from api.ai import wordmodel

    texts = ["The quick brown fox jumps over the lazy dog", "Iris setosa has short petals"]
    _, key = make_key(client, auth_headers(buyer))
    before = balance(buyer.id)
    resp = client.post("/api/v1/ai/services/wordllama-embed/invoke",
                       json={"input": {"texts": texts}}, headers=key)
    assert resp.status_code == 200, resp.text
    out = resp.json()
    vectors = np.asarray(out["output"]["embeddings"])
    assert vectors.shape == (2, 256)
    assert np.allclose(vectors, wordmodel.embed(texts), atol=1e-5)  # the real model's output
    tokens = sum(len(e.ids) for e in wordmodel.tokenizer().encode_batch(
        texts, add_special_tokens=False))
    assert out["usage"]["tokens"] == tokens > 10
    charge = 10 + -(-tokens * 20 // 1000)  # per call + per 1k tokens, rounded up
    assert out["usage"]["charge_minor"] == charge
    assert balance(buyer.id) == before - charge
    ledger_is_balanced()


def test_an_idempotency_key_runs_a_call_once(client, buyer, auth_headers, catalog):
    _, key = make_key(client, auth_headers(buyer))
    headers = {**key, "Idempotency-Key": "order-42-classify"}
    body = {"input": {"instances": [IRIS_ROW]}}
    first = client.post("/api/v1/ai/services/iris-classifier/invoke", json=body, headers=headers)
    assert first.status_code == 200
    spent = balance(buyer.id)
    again = client.post("/api/v1/ai/services/iris-classifier/invoke", json=body, headers=headers)
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_request"
    assert again.json()["error"]["details"] == {"call_id": first.json()["call_id"]}
    assert balance(buyer.id) == spent


def test_usage_reports_for_buyer_provider_and_staff(client, buyer, auth_headers, make_user,
                                                    catalog):
    from api.ai.builtin import provider_user
    from api.db import new_session

    row, key = make_key(client, auth_headers(buyer))
    for _ in range(3):
        assert client.post("/api/v1/ai/services/iris-classifier/invoke",
                           json={"input": {"instances": [IRIS_ROW]}, "version": "2"},
                           headers=key).status_code == 200
    mine = client.get("/api/v1/ai/usage", headers=auth_headers(buyer)).json()
    assert [(r["service"], r["key_id"], r["succeeded"], r["charge_minor"], r["fee_minor"])
            for r in mine] == [("iris-classifier", row["id"], 3, 45, 3)]
    with new_session() as s:
        provider = provider_user(s)
    revenue = client.get("/api/v1/ai/provider/usage", headers=auth_headers(provider)).json()
    ours = {r["service"]: r for r in revenue}
    assert ours["iris-classifier"]["provider_minor"] >= 42
    everyone = client.get("/api/v1/ai/usage/all", headers=auth_headers(
        make_user(roles=["analyst"])[0])).json()
    assert sum(r["charge_minor"] for r in everyone) >= 45
    keys = client.get("/api/v1/ai/keys", headers=auth_headers(buyer)).json()
    assert [(k["id"], k["budget_spent"]) for k in keys] == [(row["id"], 45)]  # lifetime spend when no budget is set
    # another buyer sees none of it
    other = make_user()[0]
    assert client.get("/api/v1/ai/usage", headers=auth_headers(other)).json() == []
