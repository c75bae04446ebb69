"""`ehb bench ai`: what the invoke gateway adds to a call, against calling the same provider
process directly, in one run, per workload.

In a scratch database: the built-in providers (real models) and the API (uvicorn, one
worker, as `ehb api` serves it) run as processes; one client with keep-alive connections
alternates a direct call and a gateway call, sequentially, so both sides see the same
machine load. The gateway side does everything a buyer's call does: key, input schema,
token count, the reservation statement, the provider call, the output schema, the ledger
posting and settlement. Afterwards every gateway call must be billed exactly once and the
ledger must verify."""

from __future__ import annotations

import os
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

TARGET = 0.20
WARMUP = 30
IRIS = {"sepal_length": 5.9, "sepal_width": 3.0, "petal_length": 5.1, "petal_width": 1.8}
SENTENCES = [f"Order {i}: the customer asked about delivery times and a refund for item {i}"
             for i in range(64)]


@dataclass
class Workload:
    name: str
    slug: str
    version: str | None
    direct_path: str  # on the provider
    kind: str  # which provider process
    payload: dict


@dataclass
class Result:
    name: str
    direct: list[float]
    gateway: list[float]
    internal: list[float]  # the gateway's time from key check to answer, less the provider's

    @property
    def direct_p50(self) -> float:
        return statistics.median(self.direct)

    @property
    def gateway_p50(self) -> float:
        return statistics.median(self.gateway)

    @property
    def direct_p95(self) -> float:
        return statistics.quantiles(self.direct, n=20)[-1]

    @property
    def gateway_p95(self) -> float:
        return statistics.quantiles(self.gateway, n=20)[-1]

    @property
    def added_ms(self) -> float:
        return self.gateway_p50 - self.direct_p50

    @property
    def added_share(self) -> float:
        return self.added_ms / self.direct_p50

    @property
    def gateway_internal_p50(self) -> float:
        return statistics.median(self.internal)


WORKLOADS = [
    Workload("iris, 1 row", "iris-classifier", "1", "/v1/iris/1/predict", "classifier",
             {"instances": [IRIS]}),
    Workload("iris, 200 rows", "iris-classifier", "2", "/v1/iris/2/predict", "classifier",
             {"instances": [IRIS] * 200}),
    Workload("similarity, 64 texts", "wordllama-similarity", None, "/v1/similarity",
             "embedding", {"query": "where is my refund", "texts": SENTENCES}),
    Workload("embed, 1 text", "wordllama-embed", None, "/v1/embed", "embedding",
             {"texts": SENTENCES[:1]}),
]


def _process(argv: list[str], url: str, env: dict[str, str]):
    import subprocess

    import httpx

    proc = subprocess.Popen(argv, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{argv[2:4]} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{url} not healthy")


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _buyer_key(currency: str = "USD") -> str:
    from api.ai.service import create_key
    from api.auth.service import create_user
    from api.db import new_session, session_scope
    from api.wallet import service as ledger

    with session_scope() as session:
        user = create_user(session, f"bench-ai-{uuid.uuid4().hex[:8]}@example.com",
                           "correct horse battery staple", verified=True)
        account = ledger.owned_account(session, user.id, currency)
        mint = ledger.system_account(session, "adjustments", currency)
        ledger.post(session, "adjustment", [ledger.Posting(mint.id, -10**12),
                                            ledger.Posting(account.id, 10**12)])
    with new_session() as session:
        _, key = create_key(session, user.id, {
            "name": "bench", "service_ids": [], "all_services": True, "currency": currency,
            "rpm": None, "tpm": None, "budget_minor": None, "budget_period": None,
            "expires_at": None})
    return key


def _measure(client, workload: Workload, direct_url: str, gateway_url: str, key: str,
             calls: int) -> Result:
    import orjson

    direct_body = orjson.dumps(workload.payload)
    invoke = {"input": workload.payload}
    if workload.version:
        invoke["version"] = workload.version
    gateway_body = orjson.dumps(invoke)
    json_headers = {"content-type": "application/json"}
    gateway_headers = {**json_headers, "authorization": f"Bearer {key}"}
    result = Result(workload.name, [], [], [])
    for i in range(WARMUP + calls):
        t0 = time.perf_counter()
        direct = client.post(direct_url, content=direct_body, headers=json_headers)
        t1 = time.perf_counter()
        via = client.post(gateway_url, content=gateway_body, headers=gateway_headers)
        t2 = time.perf_counter()
        if direct.status_code != 200 or via.status_code != 200:
            raise RuntimeError(f"{workload.name}: direct {direct.status_code}, gateway "
                               f"{via.status_code} {via.text[:300]}")
        if i >= WARMUP:
            usage = via.json()["usage"]
            result.direct.append((t1 - t0) * 1000)
            result.gateway.append((t2 - t1) * 1000)
            result.internal.append(usage["latency_ms"] - usage["provider_latency_ms"])
    return result


def _check_billing(expected_calls: int) -> None:
    from sqlalchemy import text

    from api.db import new_session
    from api.wallet.verify import verify_ledger

    with new_session() as session:
        calls, billed, charged, posted = session.execute(text(
            "SELECT count(*), count(DISTINCT c.ledger_transaction_id), sum(c.charge_minor), "
            "(SELECT -sum(e.amount) FROM wallet_entries e JOIN wallet_transactions t "
            " ON t.id = e.transaction_id JOIN wallet_accounts a ON a.id = e.account_id "
            " WHERE t.kind = 'ai_usage' AND a.kind = 'user' AND e.amount < 0) "
            "FROM ai_calls c WHERE c.status = 'succeeded'")).one()
        if (calls, billed, charged) != (expected_calls, expected_calls, posted):
            raise RuntimeError(f"billing check failed: {calls} calls, {billed} ledger "
                               f"transactions, charged {charged}, posted {posted}")
        if not verify_ledger(session).ok:
            raise RuntimeError("ledger verification failed after the bench")


def run(base_url: str, *, calls: int = 400, keep: bool = False,
        echo: Callable[[str], None] = print) -> list[Result]:
    import sys

    import httpx

    from api.ai import gateway
    from api.ai.builtin import build_models, ensure_builtin_catalog
    from api.db import new_session
    from api.scratchdb import scratch_database

    procs = []
    with tempfile.TemporaryDirectory(prefix="ehb-bench-ai-") as tmp, \
            scratch_database(base_url, prefix="ehb_bench_ai", keep=keep, echo=echo) as url:
        try:
            echo("building the classifier (scikit-learn iris -> ONNX) ...")
            folder = build_models(Path(tmp))
            ports = {"embedding": _free_port(), "classifier": _free_port(), "api": _free_port()}
            urls = {k: f"http://127.0.0.1:{p}" for k, p in ports.items()}
            for kind in ("embedding", "classifier"):
                procs.append(_process([sys.executable, "-m", "api.ai.modelserver", kind,
                                       "--port", str(ports[kind]), "--models-dir", str(folder)],
                                      urls[kind] + "/health", {}))
            with new_session() as session:
                ensure_builtin_catalog(session, {k: urls[k] for k in ("embedding", "classifier")},
                                       folder)
            gateway.forget_catalog()
            key = _buyer_key()
            env = {"DATABASE_URL": url, "RATE_LIMIT_PER_CLIENT": "10000000/minute",
                   "RATE_LIMIT_PER_USER": "10000000/minute"}
            procs.append(_process([sys.executable, "-m", "uvicorn", "api.main:app_factory",
                                   "--factory", "--host", "127.0.0.1", "--port",
                                   str(ports["api"]), "--no-access-log", "--log-level",
                                   "warning"], urls["api"] + "/health", env))
            echo(f"providers and API up; {calls} calls per side and workload (+{WARMUP} warm-up)")
            results = []
            with httpx.Client(trust_env=False, timeout=30) as client:
                for w in WORKLOADS:
                    echo(f"measuring {w.name} ...")
                    results.append(_measure(
                        client, w, urls[w.kind] + w.direct_path,
                        f"{urls['api']}/api/v1/ai/services/{w.slug}/invoke", key, calls))
            _check_billing(len(WORKLOADS) * (WARMUP + calls))
            return results
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                try:
                    proc.wait(10)
                except Exception:
                    proc.kill()
