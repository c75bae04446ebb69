"""`ehb bench ledger`: transfers per second through the HTTP API (uvicorn workers, 16
concurrent clients) against pgbench calling the same transfer core (`wallet_transfer`: the
idempotency key row, the wallet look-ups, the fraud score and decision row, `wallet_post`
with its locking and hash chain, the stored response) straight in SQL on the same PostgreSQL,
in one run, for a spread-out and a hot-account (10 accounts) case. Runs in a scratch database it creates and drops.

The API runs as a normal deployment would (JWT auth, user load, rate limiter, access log,
Idempotency-Key, fraud scoring), except that the rate limits and the fraud velocity thresholds
are raised so they do not cap the figure; both sides score every transfer with the same rules
and thresholds and write the same decision rows. The HTTP clients are lean asyncio keep-alive
connections, as pgbench's C client is on the SQL side, so client CPU on a small machine is
not charged to the API."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass


FUNDING = 10**12
PGBENCH_SCRIPT = """\\set a random(0, :n - 1)
\\set d random(1, :n - 1)
\\set b (:a + :d) % :n
\\set ua :first + :a
\\set ub :first + :b
SELECT wallet_transfer('user-' || :ua, md5(CAST(random() AS text) || CAST(clock_timestamp() AS text)), md5(CAST(random() AS text)), :ua, :ub, 1, 'USD', '', '10.' || (:ua / 65536) % 256 || '.' || (:ua / 256) % 256 || '.' || :ua % 256, NULL, CAST(:rules AS jsonb));
"""
# The bench's fraud thresholds: raised, like the rate limits, so a load of many transfers a
# second per user is not held for review. Every rule still runs on both sides (the velocity
# counters, the history row, the failures index) and every decision row is written.
BENCH_FRAUD_ENV = {"TRUSTY_FRAUD_MAX_USER_ATTEMPTS": "1000000000",
                   "TRUSTY_FRAUD_MAX_SOURCE_ATTEMPTS": "1000000000"}


def client_ip(user_id: int) -> str:
    """A distinct address per simulated user (the HTTP side sends it as X-Forwarded-For, which
    uvicorn trusts from 127.0.0.1; the raw side computes the same one in SQL)."""
    return f"10.{user_id // 65536 % 256}.{user_id // 256 % 256}.{user_id % 256}"


@dataclass
class Case:
    name: str
    accounts: int
    http_tps: float = 0.0
    raw_tps: float = 0.0
    http_errors: int = 0

    @property
    def ratio(self) -> float:
        return self.http_tps / self.raw_tps if self.raw_tps else 0.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _make_accounts(n: int) -> tuple[list[int], list[int]]:
    """n users with a funded USD wallet each, created through the service functions; their
    account ids are contiguous so pgbench can address them as first + i."""
    from api.auth.service import create_user
    from api.db import session_scope
    from api.wallet import service

    user_ids, account_ids = [], []
    with session_scope() as session:
        for _ in range(n):
            user = create_user(session, f"bench-{uuid.uuid4().hex[:12]}@example.com",
                               "correct horse battery staple", verified=True)
            user_ids.append(user.id)
        for uid in user_ids:
            account_ids.append(service.owned_account(session, uid, "USD").id)
        mint = service.system_account(session, "adjustments", "USD")
        for acc in account_ids:
            service.post(session, "adjustment", [service.Posting(mint.id, -FUNDING),
                                                 service.Posting(acc, FUNDING)])
    if user_ids != list(range(user_ids[0], user_ids[0] + n)):
        raise RuntimeError("bench users are not contiguous")
    return user_ids, account_ids


def _run_pgbench(url: str, first: int, n: int, clients: int, seconds: int,
                 rules: str) -> float:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as f:
        f.write(PGBENCH_SCRIPT)
        script = f.name
    try:
        out = subprocess.run(
            ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds),
             "-D", f"n={n}", "-D", f"first={first}", "-D", f"rules={rules}", "-f", script, url],
            capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f"pgbench failed:\n{out.stderr[-2000:]}")
        out = out.stdout
    finally:
        os.unlink(script)
    for line in out.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    raise RuntimeError("pgbench printed no tps:\n" + out)


async def _post_json(reader, writer, host: str, path: str, body: bytes,
                     headers: dict[str, str]) -> int:
    """One HTTP/1.1 keep-alive POST over an open connection; returns the status code. A lean
    client (like pgbench's C client on the SQL side) keeps client CPU out of the figure."""
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    writer.write((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {len(body)}\r\n{head}\r\n").encode() + body)
    await writer.drain()
    status_line = await reader.readline()
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    await reader.readexactly(length)
    return int(status_line.split()[1])


async def _http_load(port: int, tokens: dict[int, str], seconds: float, clients: int,
                     warmup: float = 1.0) -> tuple[float, int]:
    import json

    users = list(tokens)
    done, errors = 0, 0
    measuring = {"on": False}

    async def client_loop(seed: int, deadline: float) -> None:
        nonlocal done, errors
        rng = random.Random(seed)
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.perf_counter() < deadline:
                sender, receiver = rng.sample(users, 2)
                body = json.dumps({"to_user_id": receiver, "amount": 1, "currency": "USD"}).encode()
                status = await _post_json(reader, writer, f"127.0.0.1:{port}",
                                          "/api/v1/wallets/transfers", body,
                                          {"Authorization": f"Bearer {tokens[sender]}",
                                           "Idempotency-Key": uuid.uuid4().hex,
                                           "X-Forwarded-For": client_ip(sender)})
                if measuring["on"]:
                    if status == 201:
                        done += 1
                    else:
                        errors += 1
        finally:
            writer.close()

    start = time.perf_counter()
    deadline = start + warmup + seconds
    tasks = [asyncio.create_task(client_loop(i, deadline)) for i in range(clients)]
    await asyncio.sleep(warmup)
    measuring["on"] = True
    t0 = time.perf_counter()
    await asyncio.gather(*tasks)
    return done / (time.perf_counter() - t0), errors


def _start_api(db_url: str, port: int, workers: int) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": db_url, "RATE_LIMIT_PER_CLIENT": "100000000/minute",
           "RATE_LIMIT_PER_USER": "100000000/minute", **BENCH_FRAUD_ENV}
    env.pop("REDIS_URL", None)
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "api.main:app_factory", "--factory", "--host",
         "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
         "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import httpx

    for _ in range(150):
        if proc.poll() is not None:
            raise RuntimeError("API exited during start-up")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("API did not become healthy")


def _bench_rules() -> str:
    """The same thresholds the API workers read from BENCH_FRAUD_ENV, for the raw side."""
    from api.trusty.fraud import FraudSettings, _rules_json

    saved = {k: os.environ.get(k) for k in BENCH_FRAUD_ENV}
    os.environ.update(BENCH_FRAUD_ENV)
    try:
        return _rules_json(FraudSettings())
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def run(base_url: str, *, seconds: int = 8, clients: int = 16, workers: int = 2,
        spread_accounts: int = 100, hot_accounts: int = 10, keep: bool = False) -> list[Case]:
    from api.auth.tokens import issue_access_token
    from api.scratchdb import scratch_database
    from api.settings import get_settings

    with scratch_database(base_url, keep=keep) as url:
        proc = None
        try:
            cases = [Case("spread", spread_accounts), Case("hot", hot_accounts)]
            bench_rules = _bench_rules()
            port = _free_port()
            proc = _start_api(url, port, workers)
            for case in cases:
                user_ids, account_ids = _make_accounts(case.accounts)
                tokens = {u: issue_access_token(get_settings(), u, session_family=None)
                          for u in user_ids}
                case.http_tps, case.http_errors = asyncio.run(
                    _http_load(port, tokens, seconds, clients))
                case.raw_tps = _run_pgbench(url, user_ids[0], case.accounts, clients, seconds,
                                            bench_rules)
            _check_after()
            return cases
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=20)


def _check_after() -> None:
    """Every hash chain verifies and no bench transfer was held or blocked."""
    from sqlalchemy import text

    from api.db import new_session
    from api.wallet.verify import verify_ledger

    with new_session() as session:
        report = verify_ledger(session)
    if not report.ok:
        raise RuntimeError(f"ledger does not verify after the benchmark: {report.as_dict()}")
    with new_session() as session:
        held = session.execute(text(
            "SELECT count(*) FROM fraud_decisions WHERE decision <> 'allow'")).scalar_one()
    if held:
        raise RuntimeError(f"{held} bench transfers were held or blocked by fraud rules")
