"""Helpers of the AI marketplace tests: real provider and API processes, wallets, keys."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
IRIS_ROW = {"sepal_length": 5.1, "sepal_width": 3.5, "petal_length": 1.4, "petal_width": 0.2}
VIRGINICA_ROW = {"sepal_length": 6.7, "sepal_width": 3.0, "petal_length": 5.2, "petal_width": 2.3}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process for {url} exited with {proc.returncode}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} not healthy after {timeout} s")


class Process:
    """A child process serving HTTP on 127.0.0.1:port; stopped (or killed) by the test."""

    def __init__(self, argv: list[str], port: int, health: str = "/health",
                 env: dict[str, str] | None = None):
        self.argv, self.port, self.health, self.env = argv, port, health, env or {}
        self.url = f"http://127.0.0.1:{port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Process":
        self.proc = subprocess.Popen(self.argv, cwd=ROOT, env={**os.environ, **self.env},
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        wait_healthy(self.url + self.health, self.proc)
        return self

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


def model_server(kind: str, models_dir: Path, port: int | None = None) -> Process:
    port = port or free_port()
    return Process([sys.executable, "-m", "api.ai.modelserver", kind, "--port", str(port),
                    "--models-dir", str(models_dir)], port)


def api_server(env: dict[str, str] | None = None) -> Process:
    port = free_port()
    return Process([sys.executable, "-m", "uvicorn", "api.main:app_factory", "--factory",
                    "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
                    "--log-level", "warning"], port, "/health", env)


def new_user(roles: list[str] | None = None):
    from api.auth.service import create_user
    from api.db import session_scope

    with session_scope() as session:
        return create_user(session, f"ai-{uuid.uuid4().hex[:12]}@example.com",
                           "correct horse battery staple", roles=roles or ["customer"],
                           verified=True)


def fund(user_id: int, amount: int, currency: str = "USD") -> int:
    """Open the user's wallet and bring `amount` into it from `adjustments`; the account id."""
    from api.db import session_scope
    from api.wallet import service as ledger

    with session_scope() as session:
        account = ledger.owned_account(session, user_id, currency)
        if amount:
            mint = ledger.system_account(session, "adjustments", currency)
            ledger.post(session, "adjustment", [ledger.Posting(mint.id, -amount),
                                                ledger.Posting(account.id, amount)])
        return account.id


def balance(user_id: int, currency: str = "USD") -> int:
    from api.db import new_session
    from api.wallet import service as ledger

    with new_session() as session:
        account = ledger.owned_account(session, user_id, currency, create=False)
        return account.balance if account else 0


def fees_balance(currency: str = "USD") -> int:
    from api.db import new_session
    from api.wallet import service as ledger

    with new_session() as session:
        return ledger.system_account(session, "fees", currency).balance


def ledger_is_balanced() -> None:
    """Every currency sums to zero over all accounts, and every hash chain verifies."""
    from api.db import new_session
    from api.wallet import service as ledger
    from api.wallet.verify import verify_ledger

    with new_session() as session:
        assert set(ledger.total_by_currency(session).values()) <= {0}
        report = verify_ledger(session)
        assert report.ok, report.as_dict()


def make_key(client, headers, **fields) -> tuple[dict, dict]:
    """(key row as answered, headers that present the key)."""
    body = {"name": "test key", "currency": "USD", **fields}
    if "service_ids" not in body:
        body.setdefault("all_services", True)
    resp = client.post("/api/v1/ai/keys", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    row = resp.json()
    return row, {"Authorization": f"Bearer {row['key']}"}


def sql(query: str, **params):
    from sqlalchemy import text

    from api.db import new_session

    with new_session() as session:
        return session.execute(text(query), params).all()


def execute(query: str, **params) -> None:
    from sqlalchemy import text

    from api.db import new_session

    with new_session() as session:
        session.execute(text(query), params)
        session.commit()
