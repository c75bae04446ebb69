"""Idempotency keys (replay, changed body, concurrent replays) and hash-chain tamper evidence."""

from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import func, select

from tests.wallet.conftest import ledger_snapshot

URL = "/api/v1/wallets"


def test_replay_returns_first_response_and_changed_body_is_refused(client, funded, auth_headers, db):
    alice, _ = funded(1_000)
    bob, _ = funded(0)
    h = {**auth_headers(alice), "Idempotency-Key": "order-42"}
    body = {"to_user_id": bob.id, "amount": 300, "currency": "USD"}
    first = client.post(f"{URL}/transfers", headers=h, json=body)
    assert first.status_code == 201
    before = ledger_snapshot(db)
    again = client.post(f"{URL}/transfers", headers=h, json=body)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    changed = client.post(f"{URL}/transfers", headers=h, json={**body, "amount": 301})
    assert changed.status_code == 422
    assert changed.json()["error"]["code"] == "idempotency_key_reused"
    assert ledger_snapshot(db) == before
    # Keys belong to their user: bob may use the same key string for his own request.
    r = client.post(f"{URL}/transfers", headers={**auth_headers(bob), "Idempotency-Key": "order-42"},
                    json={"to_user_id": alice.id, "amount": 100, "currency": "USD"})
    assert r.status_code == 201 and r.headers.get("idempotent-replayed") is None


def test_a_refusal_is_replayed_for_its_key_and_never_posts_later(client, funded, auth_headers,
                                                                 db):
    """Issue 13: a transfer refused with 422 insufficient_funds was posted (201) when the same
    request with the same key was retried after funds arrived. The refusal is the answer."""
    from api.trusty.models import FraudDecision
    from api.wallet import service
    from api.wallet.models import LedgerAccount

    alice, a_acc = funded(100)
    bob, _ = funded(0)
    h = {**auth_headers(alice), "Idempotency-Key": "retry-after-topup"}
    body = {"to_user_id": bob.id, "amount": 150, "currency": "USD"}
    first = client.post(f"{URL}/transfers", headers=h, json=body)
    assert first.status_code == 422 and first.json()["error"]["code"] == "insufficient_funds"
    assert first.headers.get("idempotent-replayed") is None
    mint = service.system_account(db, "adjustments", "USD")
    service.post(db, "adjustment", [service.Posting(mint.id, -100), service.Posting(a_acc, 100)])
    db.commit()
    failed = db.scalar(select(func.count()).select_from(FraudDecision).where(
        FraudDecision.user_id == alice.id, FraudDecision.outcome == "failed"))
    before = ledger_snapshot(db)
    again = client.post(f"{URL}/transfers", headers=h, json=body)
    assert again.status_code == 422, again.text
    assert again.headers["idempotent-replayed"] == "true"
    error, first_error = again.json()["error"], first.json()["error"]
    assert (error["code"], error["message"]) == (first_error["code"], first_error["message"])
    assert error["request_id"] == again.headers["x-request-id"]  # the replaying request's id
    db.expire_all()
    assert ledger_snapshot(db) == before
    assert db.get(LedgerAccount, a_acc).balance == 200
    # The replay is not a new attempt for the fraud rules; a new key is a new request.
    assert db.scalar(select(func.count()).select_from(FraudDecision).where(
        FraudDecision.user_id == alice.id, FraudDecision.outcome == "failed")) == failed == 1
    r = client.post(f"{URL}/transfers", headers={**h, "Idempotency-Key": "second-try"}, json=body)
    assert r.status_code == 201, r.text


def test_each_refusal_after_the_key_is_taken_is_stored(client, funded, auth_headers, make_user,
                                                       db):
    """No wallet, unknown recipient, a recipient without a wallet: stored and replayed with
    the key. Schema errors and a changed body never take the key."""
    from api.wallet.models import IdempotencyKey

    alice, _ = funded(1_000)
    walletless, _ = make_user()
    h = auth_headers(alice)
    cases = ((alice, {"to_user_id": 2**62, "amount": 5, "currency": "USD"}, 404,
              "recipient_not_found"),
             (alice, {"to_user_id": walletless.id, "amount": 5, "currency": "USD"}, 422,
              "no_wallet"),
             (walletless, {"to_user_id": alice.id, "amount": 5, "currency": "USD"}, 422,
              "no_wallet"))
    for n, (sender, body, status, code) in enumerate(cases):
        headers = {**auth_headers(sender), "Idempotency-Key": f"stored-{n}"}
        for replayed in (None, "true"):
            r = client.post(f"{URL}/transfers", headers=headers, json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
            assert r.headers.get("idempotent-replayed") == replayed
    # Never started: a schema error leaves the key free for the corrected request.
    headers = {**h, "Idempotency-Key": "fix-the-body"}
    r = client.post(f"{URL}/transfers", headers=headers, json={"to_user_id": "x", "amount": 5})
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(IdempotencyKey).where(
        IdempotencyKey.owner == f"user:{alice.id}", IdempotencyKey.key == "fix-the-body")) == 0


@pytest.mark.slow
def test_concurrent_replays_of_one_key_post_once(app, funded, auth_headers, db):
    from fastapi.testclient import TestClient

    from api.wallet.models import LedgerTransaction

    alice, _ = funded(10_000)
    bob, _ = funded(0)
    h = {**auth_headers(alice), "Idempotency-Key": "same-key-everywhere"}
    body = {"to_user_id": bob.id, "amount": 700, "currency": "USD"}
    before = ledger_snapshot(db)
    results, barrier = [], threading.Barrier(12)

    def call():
        with TestClient(app) as c:
            barrier.wait()
            r = c.post(f"{URL}/transfers", headers=h, json=body)
            results.append((r.status_code, r.json()["id"]))

    threads = [threading.Thread(target=call) for _ in range(12)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert len(results) == 12
    assert {s for s, _ in results} == {201}
    assert len({tx for _, tx in results}) == 1
    after = ledger_snapshot(db)
    assert after["transactions"] == before["transactions"] + 1
    assert after["entries"] == before["entries"] + 2
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(LedgerTransaction)
                     .where(LedgerTransaction.kind == "transfer",
                            LedgerTransaction.details["from_user_id"].as_integer() == alice.id)) == 1


def _tamper(database_url: str, sql: str, *params) -> None:
    # The append-only trigger refuses edits; a superuser bypassing triggers plays the attacker.
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        conn.execute(sql, params)


def test_entries_are_append_only(db, funded):
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    _, acc = funded(100)
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("UPDATE wallet_entries SET amount = 1 WHERE account_id = :a"), {"a": acc})
    db.rollback()
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("DELETE FROM wallet_entries WHERE account_id = :a"), {"a": acc})
    db.rollback()


def test_verify_reports_first_broken_link(client, funded, auth_headers, make_user, database_url, idem):
    alice, a_acc = funded(1_000)
    bob, b_acc = funded(0)
    for amount in (10, 20, 30):
        client.post(f"{URL}/transfers", headers={**auth_headers(alice), **idem()},
                    json={"to_user_id": bob.id, "amount": amount, "currency": "USD"})
    admin, _ = make_user(roles=["admin"])
    ah = auth_headers(admin)
    ok = client.get(f"{URL}/verify", params={"account_id": b_acc}, headers=ah).json()
    assert ok["ok"] is True and ok["entries"] == 3
    _tamper(database_url, "UPDATE wallet_entries SET amount = 25, balance_after = balance_after + 5 "
            "WHERE account_id = %s AND seq = 2", b_acc)
    bad = client.get(f"{URL}/verify", params={"account_id": b_acc}, headers=ah).json()
    assert bad["ok"] is False
    assert bad["first_broken"]["seq"] == 2
    # Deleting alice's last entry breaks the chain head.
    _tamper(database_url, "DELETE FROM wallet_entries WHERE account_id = %s AND seq = "
            "(SELECT max(seq) FROM wallet_entries WHERE account_id = %s)", a_acc, a_acc)
    bad = client.get(f"{URL}/verify", params={"account_id": a_acc}, headers=ah).json()
    assert bad["ok"] is False and "deleted" in bad["first_broken"]["reason"]
    whole = client.get(f"{URL}/verify", headers=ah).json()
    assert whole["ok"] is False and len(whole["broken"]) >= 2


def test_cli_ledger_verify_exit_codes(funded, database_url):
    import json as _json

    from typer.testing import CliRunner

    from api.cli import root

    _, acc = funded(250)
    result = CliRunner().invoke(root, ["ledger", "verify", "--account-id", str(acc)])
    assert result.exit_code == 0, result.output
    assert _json.loads(result.output)["ok"] is True
    _tamper(database_url, "UPDATE wallet_entries SET hash = repeat('f', 64) WHERE account_id = %s", acc)
    result = CliRunner().invoke(root, ["ledger", "verify", "--account-id", str(acc)])
    assert result.exit_code == 1
    assert _json.loads(result.output)["first_broken"]["account_id"] == acc


@pytest.mark.slow
def test_concurrent_replays_never_turn_a_refusal_into_a_transfer(app, funded, auth_headers, db):
    """Issue 13's race: many clients replay the same keys while funds trickle in. Whatever the
    interleaving, every key has one answer (all its replays agree), and exactly the keys
    answered 201 moved money."""
    from fastapi.testclient import TestClient

    from api.wallet import service
    from api.wallet.models import LedgerAccount
    from api.wallet.verify import verify_ledger

    alice, a_acc = funded(0)
    bob, b_acc = funded(0)
    keys = [f"race-{n}" for n in range(40)]
    body = {"to_user_id": bob.id, "amount": 10, "currency": "USD"}
    h = auth_headers(alice)
    answers: dict[str, set[int]] = {k: set() for k in keys}
    barrier, errors = threading.Barrier(9), []

    def client_replays(n: int) -> None:
        order = keys[n:] + keys[:n]
        try:
            with TestClient(app) as c:
                barrier.wait()
                for key in order:
                    r = c.post(f"{URL}/transfers", headers={**h, "Idempotency-Key": key},
                               json=body)
                    answers[key].add(r.status_code)
        except Exception as exc:  # noqa: BLE001 - asserted below
            errors.append(repr(exc))

    def funds_arrive() -> None:
        from api.db import new_session

        barrier.wait()
        with new_session() as s:
            mint = service.system_account(s, "adjustments", "USD")
            for _ in range(20):  # 200 in all: enough for 20 of the 40 transfers
                service.post(s, "adjustment", [service.Posting(mint.id, -10),
                                               service.Posting(a_acc, 10)])
                s.commit()

    threads = [threading.Thread(target=client_replays, args=(n,)) for n in range(8)]
    threads.append(threading.Thread(target=funds_arrive))
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert errors == []
    assert all(len(statuses) == 1 for statuses in answers.values()), answers
    posted = [k for k, statuses in answers.items() if statuses == {201}]
    assert {s for statuses in answers.values() for s in statuses} <= {201, 422}
    db.expire_all()
    balances = {a.id: a.balance for a in db.scalars(select(LedgerAccount).where(
        LedgerAccount.id.in_((a_acc, b_acc))))}
    assert balances[b_acc] == 10 * len(posted)
    assert balances[a_acc] == 200 - 10 * len(posted)
    assert verify_ledger(db, [a_acc, b_acc]).ok
