"""Issue 13, idempotency: a refusal is an answer too. A trusty money move refused with a key
is replayed as refused for that key, also after the funds arrive; nothing moves later."""

from __future__ import annotations

from sqlalchemy import func, select, text

from api.trusty.models import ApprovalRequest, FraudDecision
from api.wallet import service as ledger
from tests.wallet.conftest import ledger_snapshot

T = "/api/v1/trusty"


def _mint(db, account_id: int, amount: int) -> None:
    mint = ledger.system_account(db, "adjustments", "USD")
    ledger.post(db, "adjustment", [ledger.Posting(mint.id, -amount),
                                   ledger.Posting(account_id, amount)])
    db.commit()


def _failed(db, user_id: int) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(FraudDecision).where(
        FraudDecision.user_id == user_id, FraudDecision.outcome == "failed"))


def test_a_refused_protected_transfer_is_replayed_not_posted_later(client, funded, auth_headers,
                                                                   db):
    alice, wallet = funded(100)
    bob, _ = funded(0)
    h = {**auth_headers(alice), "Idempotency-Key": "trusty-retry"}
    body = {"to_user_id": bob.id, "amount": 150, "currency": "USD"}
    first = client.post(f"{T}/transfers", headers=h, json=body)
    assert first.status_code == 422 and first.json()["error"]["code"] == "insufficient_funds"
    assert _failed(db, alice.id) == 1  # the refusal counts for the fraud rules, once
    _mint(db, wallet, 100)
    before = ledger_snapshot(db)
    again = client.post(f"{T}/transfers", headers=h, json=body)
    assert again.status_code == 422, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["error"]["message"] == first.json()["error"]["message"]
    assert again.json()["error"]["request_id"] == again.headers["x-request-id"]
    db.expire_all()
    assert ledger_snapshot(db) == before and _failed(db, alice.id) == 1
    r = client.post(f"{T}/transfers", headers={**h, "Idempotency-Key": "trusty-new"}, json=body)
    assert r.status_code == 201 and r.json()["status"] == "posted", r.text


def test_a_refused_vault_withdrawal_is_replayed(client, funded, auth_headers, db):
    owner, _ = funded(0)
    approver, _ = funded(0)
    h = auth_headers(owner)
    r = client.put(f"{T}/policies/USD", headers=h,
                   json={"threshold": 1_000, "required": 1, "approver_ids": [approver.id]})
    assert r.status_code == 200, r.text
    move = {"amount": 5_000, "currency": "USD"}
    key = {"Idempotency-Key": "vault-out-1"}
    first = client.post(f"{T}/vault/withdrawals", headers={**h, **key}, json=move)
    assert first.status_code == 422 and first.json()["error"]["code"] == "insufficient_funds"
    vault = ledger.owned_account(db, owner.id, "USD", kind="vault")
    _mint(db, vault.id, 5_000)
    before = ledger_snapshot(db)
    again = client.post(f"{T}/vault/withdrawals", headers={**h, **key}, json=move)
    assert (again.status_code, again.headers["idempotent-replayed"]) == (422, "true")
    db.expire_all()
    assert ledger_snapshot(db) == before
    assert db.scalar(select(func.count()).select_from(ApprovalRequest).where(
        ApprovalRequest.requester_id == owner.id)) == 0
    assert db.execute(text("SELECT balance FROM wallet_accounts WHERE code = :c"),
                      {"c": f"vault:{owner.id}:USD"}).scalar() == 5_000
