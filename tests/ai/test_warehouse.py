"""AI usage in the warehouse: calls made through the gateway (successes, a fallback, failures)
are ingested with their GX suites and daily reconciliation to PostgreSQL, the usage mart
equals an independent SQL over PostgreSQL, the reconciliation mart matches the ledger's
ai_usage postings to the minor unit, and the Dash page shows a buyer their own calls, a
provider their services' revenue and staff everything."""

from __future__ import annotations

import os
import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.ai.helpers import IRIS_ROW, fund, new_user, sql

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
AI_TABLES = ("ai_endpoints", "ai_services", "ai_service_versions", "ai_api_keys", "ai_calls",
             "ai_ratings")
RAW = ("users", "wallet_accounts", "wallet_transactions", "wallet_entries", *AI_TABLES)
MODELS = ("stg_ehb__ai_calls", "stg_ehb__ai_services", "stg_ehb__wallet_entries",
          "stg_ehb__wallet_accounts", "fct_ai_usage_daily", "ai_ledger_reconciliation")


@pytest.fixture(scope="module")
def warehouse_dir(tmp_path_factory, database_url):
    path = tmp_path_factory.mktemp("ai-warehouse")
    old = os.environ.get("EHB_WAREHOUSE_DIR")
    os.environ["EHB_WAREHOUSE_DIR"] = str(path)
    yield path
    if old is None:
        os.environ.pop("EHB_WAREHOUSE_DIR", None)
    else:
        os.environ["EHB_WAREHOUSE_DIR"] = old


def _activity(catalog, classifier_url: str) -> dict:
    """Calls through the gateway's service function: two buyers, four services of two
    providers, a fallback, failures (a provider that refuses connections), a rating."""
    from api.ai import gateway, service
    from api.ai.builtin import IRIS_INPUT, IRIS_OUTPUT
    from api.ai.keys import parse
    from api.core.errors import AppError
    from api.db import new_session

    owner = new_user(roles=["provider"])
    with new_session() as s:
        live = service.register_endpoint(s, owner.id, name="live", base_url=classifier_url,
                                         allow_private=True)
        acme = service.publish_service(s, owner.id, {
            "slug": "iris-acme", "name": "iris by acme", "task": "classification",
            "summary": "iris species", "description": "", "license": "MIT", "tags": [],
            "currency": "USD"})
        service.publish_version(s, owner.id, acme.id, {
            "version": "1", "endpoint_id": live.id, "path": "/v1/iris/1/predict",
            "input_schema": IRIS_INPUT, "output_schema": IRIS_OUTPUT,
            "price_per_call_minor": 40, "price_per_1k_tokens_minor": 0, "tokenizer": None,
            "max_input_tokens": None, "timeout_ms": 2000, "model_card": {}})
        ep = service.register_endpoint(s, owner.id, name="dead", base_url="http://127.0.0.1:9",
                                       allow_private=True)
        row = service.publish_service(s, owner.id, {
            "slug": "iris-dead", "name": "iris (down)", "task": "classification",
            "summary": "never answers", "description": "", "license": "MIT", "tags": [],
            "currency": "USD"})
        service.publish_version(s, owner.id, row.id, {
            "version": "1", "endpoint_id": ep.id, "path": "/p", "input_schema": IRIS_INPUT,
            "output_schema": IRIS_OUTPUT, "price_per_call_minor": 50,
            "price_per_1k_tokens_minor": 0, "tokenizer": None, "max_input_tokens": None,
            "timeout_ms": 1000, "model_card": {}})
    buyers = {"alice": new_user(), "bob": new_user()}
    keys = {}
    for name, user in buyers.items():
        fund(user.id, 100_000)
        with new_session() as s:
            _, full = service.create_key(s, user.id, {
                "name": name, "service_ids": [], "all_services": True, "currency": "USD",
                "rpm": None, "tpm": None, "budget_minor": None, "budget_period": None,
                "expires_at": None})
        keys[name] = parse(full)
    iris = {"instances": [IRIS_ROW]}
    for _ in range(3):
        gateway.invoke(keys["alice"], "iris-classifier", iris, version="1")
    gateway.invoke(keys["alice"], "wordllama-embed", {"texts": ["ledger to the cent"] * 3})
    for _ in range(2):
        gateway.invoke(keys["alice"], "iris-acme", iris)
    gateway.invoke(keys["bob"], "iris-classifier", {"instances": [IRIS_ROW] * 5}, version="2")
    gateway.invoke(keys["bob"], "iris-dead", iris, fallbacks=["iris-classifier@1"])
    for _ in range(2):
        with pytest.raises(AppError):
            gateway.invoke(keys["bob"], "iris-dead", iris)
    with new_session() as s:
        service.rate(s, buyers["alice"].id, catalog["iris-classifier"], 4, "accurate")
    return {"buyers": buyers, "provider": owner}


@pytest.fixture(scope="module")
def ai_run(warehouse_dir, database_url, catalog, providers):
    import dagster as dg

    from pipelines.definitions import defs

    activity = _activity(catalog, providers["classifier"])
    keys = [k for k in defs.resolve_all_asset_keys()
            if (k.path[0] == "raw" and k.path[-1] in RAW) or k.path[-1] in MODELS]
    job = defs.resolve_job_def("ehb_full_refresh")
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral(),
                                    raise_on_error=False, asset_selection=keys)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result, activity


def _checks(result) -> dict:
    return {(e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name):
            e.event_specific_data for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def _snapshot(sql_text: str, params=()):
    from pipelines.snapshot import query

    return query(sql_text, list(params))


def test_gx_suites_and_daily_reconciliation_cover_the_ai_tables(ai_run):
    checks = _checks(ai_run[0])
    for table in AI_TABLES:
        gx = checks[(f"raw/{table}", "gx_suite")]
        assert gx.passed, (table, gx.metadata)
        assert gx.metadata["rows_validated"].value > 0, table
        assert checks[(f"raw/{table}", "reconcile_daily")].passed, table
    for mart in ("marts/fct_ai_usage_daily", "marts/ai_ledger_reconciliation"):
        tests = {k[1]: v for k, v in checks.items() if k[0] == mart}
        assert len(tests) >= 10 and all(v.passed for v in tests.values()), (mart, tests)


def test_usage_mart_equals_postgres(ai_run):
    expected = sql("""
        SELECT (c.created_at AT TIME ZONE 'UTC')::date, c.service_id, c.buyer_user_id, c.key_id,
               count(*), count(*) FILTER (WHERE c.status = 'succeeded'),
               count(*) FILTER (WHERE c.status = 'failed'),
               coalesce(sum(c.tokens) FILTER (WHERE c.status = 'succeeded'), 0),
               sum(c.charge_minor), sum(c.provider_minor), sum(c.fee_minor)
        FROM ai_calls c WHERE c.status <> 'reserved' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""")
    got = _snapshot("""
        SELECT usage_date, service_id, buyer_user_id, key_id, calls, succeeded, failed, tokens,
               charge_minor, provider_minor, fee_minor
        FROM marts.fct_ai_usage_daily ORDER BY 1, 2, 3, 4""")
    assert [tuple(r) for r in got] == [tuple(int(v) if not isinstance(v, date) else v
                                             for v in r) for r in expected]
    buyers = ai_run[1]["buyers"]
    acme = _snapshot("SELECT sum(charge_minor), sum(provider_minor), sum(fee_minor) FROM "
                     "marts.fct_ai_usage_daily WHERE service_slug = 'iris-acme'")
    assert [tuple(r) for r in acme] == [(80, 72, 8)]
    bob = _snapshot("SELECT service_slug, sum(calls), sum(failed), sum(fallbacks) FROM "
                    "marts.fct_ai_usage_daily WHERE buyer_user_id = ? GROUP BY 1 ORDER BY 1",
                    [buyers["bob"].id])
    # the fallback's call counts for the service that answered it
    assert [tuple(r) for r in bob] == [("iris-classifier", 2, 0, 1), ("iris-dead", 2, 2, 0)]


def test_the_reconciliation_mart_matches_the_ledger_to_the_cent(ai_run):
    [(debit, provider, fee, transactions)] = sql("""
        SELECT -sum(e.amount) FILTER (WHERE e.amount < 0),
               sum(e.amount) FILTER (WHERE e.amount > 0 AND a.kind = 'user'),
               sum(e.amount) FILTER (WHERE e.amount > 0 AND a.code LIKE 'system:fees:%'),
               count(DISTINCT t.id)
        FROM wallet_transactions t JOIN wallet_entries e ON e.transaction_id = t.id
        JOIN wallet_accounts a ON a.id = e.account_id WHERE t.kind = 'ai_usage'""")
    [(charged, shares, fees, billed)] = sql(
        "SELECT sum(charge_minor), sum(provider_minor), sum(fee_minor), "
        "count(ledger_transaction_id) FROM ai_calls WHERE status = 'succeeded'")
    assert (debit, provider, fee, transactions) == (charged, shares, fees, billed)
    rows = _snapshot("SELECT sum(ledger_debit_minor), sum(calls_charge_minor), "
                     "sum(ledger_provider_minor), sum(ledger_fee_minor), "
                     "sum(ledger_transactions), bool_and(is_reconciled), "
                     "sum(mismatched_calls + unmatched_transactions + unbilled_calls) "
                     "FROM marts.ai_ledger_reconciliation")
    assert tuple(rows[0]) == (debit, charged, provider, fee, transactions, True, 0)


@pytest.fixture(scope="module")
def ai_dash(ai_run, warehouse_dir, app):
    from fastapi.testclient import TestClient

    from dashboards.app import create_app
    from dashboards.settings import DashSettings
    from dashboards.warehouse import Warehouse

    snapshot = warehouse_dir / "snapshot.duckdb"
    settings = DashSettings(warehouse_dir=warehouse_dir, secret_key="k" * 40, refresh_ms=5000)
    return create_app(settings, Warehouse(snapshot),
                      lambda: TestClient(app, raise_server_exceptions=False))


def _page(dash_app, user, password="correct horse battery staple") -> dict:
    from dashboards.callbacks import Callbacks

    client = dash_app.server.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    resp = client.post("/login", data={"email": user.email, "password": password, "next": "/",
                                       "csrf_token": token})
    assert resp.status_code == 302, resp.data
    today = datetime.now(UTC).date().isoformat()
    return Callbacks(client).values("ai-kpis.children",
                                    {"url.search": f"?start={today}&end={today}"})


def _cards(out) -> dict[str, str]:
    return {c["props"]["children"][0]["props"]["children"]:
            c["props"]["children"][1]["props"]["children"] for c in out["ai-kpis"]["children"]}


def test_the_page_shows_buyers_their_own_providers_their_services_staff_everything(
        ai_dash, ai_run, make_user):
    buyers = ai_run[1]["buyers"]
    today = datetime.now(UTC).date()

    def total(where: str, params=()) -> int:
        return int(_snapshot(f"SELECT coalesce(sum(charge_minor), 0) FROM "
                             f"marts.fct_ai_usage_daily WHERE usage_date = ? AND {where}",
                             [today, *params])[0][0])

    alice = _page(ai_dash, buyers["alice"])
    assert _cards(alice)["Spend"] == f"{Decimal(total('buyer_user_id = ?', [buyers['alice'].id])) / 100:,.2f} USD"
    assert set(_cards(alice)) == {"Calls", "Succeeded", "Tokens", "Spend"}
    services = {t["name"] for t in alice["ai-daily"]["figure"]["data"]}
    assert services == {"iris-classifier", "iris-acme", "wordllama-embed"}  # not bob's
    assert alice["ai-selected"]["children"].endswith("your calls")
    provider = _page(ai_dash, ai_run[1]["provider"])
    assert _cards(provider)["Provider revenue"] == "0.72 USD"  # 2 x 40, less the 10 % fee
    assert {t["name"] for t in provider["ai-daily"]["figure"]["data"]} == {"iris-acme",
                                                                            "iris-dead"}
    staff = _page(ai_dash, make_user(roles=["analyst"])[0])
    assert _cards(staff)["Spend"] == f"{Decimal(total('true')) / 100:,.2f} USD"
    assert "Platform fees" in _cards(staff)
    recon = staff["ai-reconciliation"]["children"]["props"]["children"]
    assert recon.startswith("Ledger reconciliation (USD): 1 of 1 days reconciled")
    assert staff["ai-reconciliation"]["children"]["props"]["className"] == "notice"
    assert alice["ai-reconciliation"]["children"] is None  # staff only
