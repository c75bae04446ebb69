"""The catalog: providers publish endpoints, services and immutable versions (the database
refuses a change), deprecate with a sunset date; buyers search by words and filters, or by
meaning (wordllama embeddings), ranked with usage and ratings; only customers rate. Keys'
budgets reset when their period turns over and tokens per minute are counted by the model's
tokenizer (the clock is a parameter)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.ai.helpers import IRIS_ROW, execute, fund, make_key, new_user, sql

SCHEMA_IN = {"type": "object", "properties": {"texts": {"type": "array",
                                                        "items": {"type": "string"}}},
             "required": ["texts"]}
SCHEMA_OUT = {"type": "object"}


def _publish(client, headers, slug: str, **fields) -> dict:
    body = {"slug": slug, "name": slug.replace("-", " "), "task": "classification",
            "summary": "a test listing", "license": "MIT", "currency": "USD", **fields}
    resp = client.post("/api/v1/ai/services", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def test_provider_publishes_endpoint_service_and_immutable_versions(client, auth_headers,
                                                                   make_user):
    from sqlalchemy.exc import DBAPIError

    provider = auth_headers(make_user(roles=["provider"])[0])
    # the gateway calls this URL: a provider may not aim it at the platform's own network
    for private in ("http://127.0.0.1:5432", "http://localhost:6379", "http://10.1.2.3",
                    "http://[::1]:80", "http://169.254.169.254"):
        resp = client.post("/api/v1/ai/endpoints", json={"name": "x", "base_url": private},
                           headers=provider)
        assert resp.status_code == 403 and resp.json()["error"]["code"] == "private_endpoint"
    resp = client.post("/api/v1/ai/endpoints",
                       json={"name": "gpu box", "base_url": "https://models.example.com/api"},
                       headers=provider)
    assert resp.status_code == 201, resp.text
    endpoint = resp.json()
    assert endpoint["in_rotation"] is True
    service = _publish(client, provider, "sentiment-en", task="text_scoring",
                       tags=["Text", "sentiment", "text"])
    assert service["tags"] == ["sentiment", "text"] and service["versions"] == []
    version = {"version": "1.0", "endpoint_id": endpoint["id"], "path": "/v1/score",
               "input_schema": SCHEMA_IN, "output_schema": SCHEMA_OUT,
               "price_per_call_minor": 5, "price_per_1k_tokens_minor": 2,
               "tokenizer": "wordllama-l2",
               "model_card": {"description": "scores sentiment", "metrics": {"f1": 0.91}}}
    url = f"/api/v1/ai/services/{service['id']}/versions"
    assert client.post(url, json=version, headers=provider).status_code == 201
    again = client.post(url, json={**version, "price_per_call_minor": 1}, headers=provider)
    assert again.status_code == 409 and again.json()["error"]["code"] == "version_exists"
    bad = client.post(url, json={**version, "version": "1.1",
                                 "input_schema": {"type": "no-such-type"}}, headers=provider)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_schema"
    no_tok = client.post(url, json={**version, "version": "1.2", "tokenizer": None},
                         headers=provider)
    assert no_tok.status_code == 422 and no_tok.json()["error"]["code"] == "tokenizer_required"
    # someone else's service or endpoint
    other = auth_headers(make_user(roles=["provider"])[0])
    assert client.post(url, json={**version, "version": "2"}, headers=other).status_code == 404
    # a customer may not publish
    customer = auth_headers(make_user()[0])
    assert client.post("/api/v1/ai/services", json={}, headers=customer).status_code == 403
    # versions are immutable in the database itself, whoever writes
    with pytest.raises(DBAPIError, match="immutable"):
        execute("UPDATE ai_service_versions SET price_per_call_minor = 0 WHERE service_id = :s",
                s=service["id"])
    with pytest.raises(DBAPIError, match="immutable"):
        execute("DELETE FROM ai_service_versions WHERE service_id = :s", s=service["id"])
    assert sql("SELECT price_per_call_minor FROM ai_service_versions WHERE service_id = :s",
               s=service["id"]) == [(5,)]
    card = client.get("/api/v1/ai/services/sentiment-en", headers=customer).json()
    assert card["versions"][0]["model_card"]["metrics"] == {"f1": 0.91}


def test_deprecated_service_is_refused_from_its_sunset_date(client, buyer, auth_headers,
                                                             catalog, make_user, app):
    from api.ai import gateway, service
    from api.ai.builtin import IRIS_INPUT, IRIS_OUTPUT
    from api.db import new_session

    owner = new_user(roles=["provider"])
    with new_session() as s:
        ep = service.register_endpoint(s, owner.id, name="e", base_url="http://127.0.0.1:9",
                                       allow_private=True)
        row = service.publish_service(s, owner.id, {
            "slug": "iris-old", "name": "old iris", "task": "classification", "summary": "old",
            "description": "", "license": "MIT", "tags": [], "currency": "USD"})
        service.publish_version(s, owner.id, row.id, {
            "version": "1", "endpoint_id": ep.id, "path": "/p", "input_schema": IRIS_INPUT,
            "output_schema": IRIS_OUTPUT, "price_per_call_minor": 1,
            "price_per_1k_tokens_minor": 0, "tokenizer": None, "max_input_tokens": None,
            "timeout_ms": 1000, "model_card": {}})
    sunset = datetime(2027, 1, 1, tzinfo=UTC)
    resp = client.post(f"/api/v1/ai/services/{row.id}/deprecate",
                       json={"sunset_at": sunset.isoformat()}, headers=auth_headers(owner))
    assert resp.status_code == 200 and resp.json()["status"] == "deprecated"
    gateway.forget_catalog()
    _, key = make_key(client, auth_headers(buyer))
    app.state.clock = lambda: sunset + timedelta(seconds=1)
    try:
        resp = client.post("/api/v1/ai/services/iris-old/invoke",
                           json={"input": {"instances": [IRIS_ROW]}}, headers=key)
    finally:
        del app.state.clock
    assert resp.status_code == 410 and resp.json()["error"]["code"] == "service_retired"
    # the catalog hides it from search after the sunset, unless asked
    with new_session() as s:
        after = service.search(s, q="old", now=sunset + timedelta(days=1))
        listed = service.search(s, q="old", include_deprecated=True,
                                now=sunset + timedelta(days=1))
    assert "iris-old" not in [h["service"]["slug"] for h in after["items"]]
    assert "iris-old" in [h["service"]["slug"] for h in listed["items"]]


def test_search_by_words_filters_and_by_meaning_ranks(client, auth_headers, catalog, make_user):
    headers = auth_headers(make_user()[0])
    words = client.get("/api/v1/ai/services", params={"q": "iris species"},
                       headers=headers).json()
    assert words["mode"] == "text"
    assert [h["service"]["slug"] for h in words["items"]] == ["iris-classifier"]
    by_task = client.get("/api/v1/ai/services", params={"task": "embedding"},
                         headers=headers).json()
    assert "wordllama-embed" in [h["service"]["slug"] for h in by_task["items"]]
    assert all(h["service"]["task"] == "embedding" for h in by_task["items"])
    # by meaning: no word of the query appears in the listing, the model still finds it
    semantic = client.get("/api/v1/ai/services", params={
        "q": "which kind of flower is this plant", "semantic": "true"}, headers=headers).json()
    assert semantic["mode"] == "semantic"
    builtins = [h for h in semantic["items"] if h["service"]["slug"] in catalog]
    assert builtins[0]["service"]["slug"] == "iris-classifier"
    vectors = client.get("/api/v1/ai/services", params={
        "q": "turn sentences into vectors for semantic search", "semantic": "true"},
        headers=headers).json()
    top = [h["service"]["slug"] for h in vectors["items"] if h["service"]["slug"] in catalog]
    assert top[0] == "wordllama-embed"
    for hit in semantic["items"]:
        assert hit["score"] == pytest.approx(0.8 * hit["relevance"] + 0.1 * hit["usage_score"]
                                             + 0.1 * hit["rating_score"], abs=1e-5)


def test_usage_and_ratings_order_equally_relevant_services(client, auth_headers, catalog):
    from api.ai import service
    from api.db import new_session

    rater = new_user()
    fund(rater.id, 1000)
    _, key = make_key(client, auth_headers(rater))
    sid = catalog["wordllama-similarity"]
    resp = client.put(f"/api/v1/ai/services/{sid}/rating", json={"stars": 5},
                      headers=auth_headers(rater))
    assert resp.status_code == 403 and resp.json()["error"]["code"] == "not_a_customer"
    assert client.post("/api/v1/ai/services/wordllama-similarity/invoke", json={
        "input": {"query": "a", "texts": ["b"]}}, headers=key).status_code == 200
    for stars in (1, 5):  # rating again replaces the rating
        resp = client.put(f"/api/v1/ai/services/{sid}/rating", json={"stars": stars},
                          headers=auth_headers(rater))
        assert resp.status_code == 200 and resp.json()["stars"] == stars
    with new_session() as s:
        hits = {h["service"]["slug"]: h for h in service.search(s, task="text_scoring")["items"]}
    rated = hits["wordllama-similarity"]
    assert rated["service"]["rating_count"] == 1 and rated["service"]["rating_avg"] == 5
    assert rated["rating_score"] == pytest.approx(((3 * 5 + 5) / 6 - 1) / 4, abs=1e-6)
    assert rated["service"]["calls_30d"] >= 1 and rated["usage_score"] > 0
    others = [h for slug, h in hits.items() if slug != "wordllama-similarity"
              and h["service"]["calls_30d"] == 0 and h["service"]["rating_count"] == 0]
    assert all(h["score"] < rated["score"] for h in others)


def test_budget_resets_when_its_period_turns_over(client, auth_headers, catalog):
    from api.ai import gateway
    from api.ai.keys import parse
    from api.core.errors import AppError

    buyer = new_user()
    fund(buyer.id, 1000)
    row, key = make_key(client, auth_headers(buyer), budget_minor=20, budget_period="day")
    presented = parse(key["Authorization"].split()[1])
    day = datetime(2026, 3, 31, 23, 59, 30, tzinfo=UTC)
    call = lambda now: gateway.invoke(presented, "iris-classifier",  # noqa: E731
                                      {"instances": [IRIS_ROW]}, version="1", now=now)
    call(day)
    call(day + timedelta(seconds=10))
    with pytest.raises(AppError) as refused:
        call(day + timedelta(seconds=20))
    assert (refused.value.status_code, refused.value.code) == (429, "budget_exceeded")
    assert refused.value.headers == {"Retry-After": "10"}  # the day ends in 10 s
    call(day + timedelta(seconds=31))  # 1 April: a new day, a new budget
    assert sql("SELECT budget_spent, budget_period_start FROM ai_api_keys WHERE id = :k",
               k=row["id"]) == [(10, datetime(2026, 4, 1, tzinfo=UTC))]


def test_tokens_per_minute_are_counted_with_the_tokenizer(client, auth_headers, catalog):
    from api.ai import gateway, wordmodel
    from api.ai.keys import parse
    from api.core.errors import AppError

    buyer = new_user()
    fund(buyer.id, 1000)
    texts = ["one two three four five six seven eight nine ten"]
    tokens = wordmodel.count_tokens({"texts": texts})
    _, key = make_key(client, auth_headers(buyer), tpm=2 * tokens)
    presented = parse(key["Authorization"].split()[1])
    minute = datetime(2026, 3, 1, 10, 0, 5, tzinfo=UTC)
    for offset in (0, 30):
        gateway.invoke(presented, "wordllama-embed", {"texts": texts},
                       now=minute + timedelta(seconds=offset))
    with pytest.raises(AppError) as refused:
        gateway.invoke(presented, "wordllama-embed", {"texts": texts},
                       now=minute + timedelta(seconds=40))
    assert refused.value.code == "token_rate_limited"
    assert refused.value.headers == {"Retry-After": "15"}
    gateway.invoke(presented, "wordllama-embed", {"texts": texts},
                   now=minute + timedelta(seconds=56))  # the next minute
