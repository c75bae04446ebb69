"""Multisig approvals (M of N, no self or double approval, expiry releases funds) and
cold-storage vault moves with a cancellable delay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import text

from tests.wallet.conftest import ledger_snapshot

T = "/api/v1/trusty"


def _bal(db, user_id, kind="user", currency="USD"):
    db.expire_all()
    return db.execute(text("SELECT balance FROM wallet_accounts WHERE code = :c"),
                      {"c": f"{kind}:{user_id}:{currency}"}).scalar() or 0


def _setup(client, funded, auth_headers, required=2, ttl=3600, delay=3600):
    owner, _ = funded(100_000)
    approvers = [funded(0)[0] for _ in range(3)]
    payee, _ = funded(0)
    r = client.put(f"{T}/policies/USD", headers=auth_headers(owner),
                   json={"threshold": 5_000, "required": required,
                         "approver_ids": [a.id for a in approvers],
                         "approval_ttl_seconds": ttl, "vault_delay_seconds": delay})
    assert r.status_code == 200, r.text
    return owner, approvers, payee


def _post(client, h, idem, path, body=None):
    return client.post(f"{T}{path}", headers={**h, **idem()}, json=body if body is not None else {})


def test_policy_validation(client, funded, auth_headers):
    owner, _ = funded(0)
    a, _ = funded(0)
    h = auth_headers(owner)
    for body, code in (({"threshold": 100, "required": 2, "approver_ids": [a.id]}, "invalid_quorum"),
                       ({"threshold": 100, "required": 1, "approver_ids": [owner.id]}, "self_approver"),
                       ({"threshold": 0, "required": 1, "approver_ids": [a.id]}, "invalid_amount"),
                       ({"threshold": 100, "required": 1, "approver_ids": [99999999]},
                        "approver_not_found"),
                       ({"threshold": 100, "required": 1, "approver_ids": [a.id],
                         "approval_ttl_seconds": 10**15}, "invalid_timing"),
                       ({"threshold": 100, "required": 1, "approver_ids": [a.id],
                         "vault_delay_seconds": 10**15}, "invalid_timing")):
        r = client.put(f"{T}/policies/USD", headers=h, json=body)
        assert r.json()["error"]["code"] == code, r.text


def test_m_of_n_transfer_reserves_then_settles(client, funded, auth_headers, idem, db):
    owner, (a1, a2, a3), payee = _setup(client, funded, auth_headers)
    small = _post(client, auth_headers(owner), idem, "/transfers",
                  {"to_user_id": payee.id, "amount": 1_000, "currency": "USD"})
    assert small.status_code == 201 and small.json()["status"] == "posted"
    r = _post(client, auth_headers(owner), idem, "/transfers",
              {"to_user_id": payee.id, "amount": 20_000, "currency": "USD"})
    assert r.status_code == 202 and r.json()["status"] == "pending_approval", r.text
    rid = r.json()["request_id"]
    assert _bal(db, owner.id) == 100_000 - 1_000 - 20_000  # reserved, not spendable
    assert _bal(db, owner.id, "hold") == 20_000
    # The requester cannot approve; a stranger cannot see it; an approver cannot vote twice.
    r = _post(client, auth_headers(owner), idem, f"/requests/{rid}/approve")
    assert r.status_code == 403
    stranger, _ = funded(0)
    assert _post(client, auth_headers(stranger), idem, f"/requests/{rid}/approve").status_code == 404
    r = _post(client, auth_headers(a1), idem, f"/requests/{rid}/approve")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    before = ledger_snapshot(db)
    r = _post(client, auth_headers(a1), idem, f"/requests/{rid}/approve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "duplicate_approval"
    assert ledger_snapshot(db) == before
    r = _post(client, auth_headers(a2), idem, f"/requests/{rid}/approve")
    assert r.status_code == 200 and r.json()["status"] == "executed"
    assert _bal(db, payee.id) == 21_000 and _bal(db, owner.id, "hold") == 0
    r = _post(client, auth_headers(a3), idem, f"/requests/{rid}/approve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_not_pending"


def test_rejection_and_expiry_release_funds(client, funded, auth_headers, idem, db):
    owner, (a1, a2, a3), payee = _setup(client, funded, auth_headers, required=2)
    h = auth_headers(owner)
    rid = _post(client, h, idem, "/transfers",
                {"to_user_id": payee.id, "amount": 10_000, "currency": "USD"}).json()["request_id"]
    assert _post(client, auth_headers(a1), idem, f"/requests/{rid}/reject").json()["status"] == "pending"
    r = _post(client, auth_headers(a2), idem, f"/requests/{rid}/reject")
    assert r.json()["status"] == "rejected"  # 3 approvers - 2 rejections < 2 required
    assert _bal(db, owner.id) == 100_000 and _bal(db, payee.id) == 0
    r = _post(client, h, idem, "/transfers",
              {"to_user_id": payee.id, "amount": 10_000, "currency": "USD"})
    assert r.status_code == 202, r.text
    rid = r.json()["request_id"]
    db.execute(text("UPDATE trusty_requests SET expires_at = now() - interval '1 minute' "
                    "WHERE id = :i"), {"i": rid})
    db.commit()
    r = _post(client, auth_headers(a1), idem, f"/requests/{rid}/approve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_expired"
    assert _bal(db, owner.id) == 100_000 and _bal(db, owner.id, "hold") == 0
    assert _post(client, auth_headers(a2), idem, f"/requests/{rid}/approve").status_code == 409


def test_vault_move_needs_quorum_and_delay_and_can_be_canceled(client, funded, auth_headers,
                                                                idem, db, make_user):
    from api.db import new_session
    from api.trusty.service import run_due

    owner, (a1, a2, _), _ = _setup(client, funded, auth_headers, delay=3600)
    h = auth_headers(owner)
    nopolicy, _ = funded(1_000)
    r = _post(client, auth_headers(nopolicy), idem, "/vault/deposits", {"amount": 10, "currency": "USD"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "policy_required"
    r = _post(client, h, idem, "/vault/deposits", {"amount": 40_000, "currency": "USD"})
    assert r.status_code == 202 and r.json()["status"] == "pending"
    rid = r.json()["id"]
    _post(client, auth_headers(a1), idem, f"/requests/{rid}/approve")
    r = _post(client, auth_headers(a2), idem, f"/requests/{rid}/approve")
    assert r.json()["status"] == "approved" and r.json()["execute_after"]
    with new_session() as s:
        assert run_due(s)["executed"] == 0  # delay not over
    assert _bal(db, owner.id, "vault") == 0
    with new_session() as s:
        assert run_due(s, now=datetime.now(UTC) + timedelta(hours=2))["executed"] >= 1
    assert _bal(db, owner.id, "vault") == 40_000 and _bal(db, owner.id) == 60_000
    # A withdrawal approved but still waiting can be canceled: funds return to the vault.
    rid = _post(client, h, idem, "/vault/withdrawals", {"amount": 15_000, "currency": "USD"}).json()["id"]
    assert _bal(db, owner.id, "vault") == 25_000
    _post(client, auth_headers(a1), idem, f"/requests/{rid}/approve")
    _post(client, auth_headers(a2), idem, f"/requests/{rid}/approve")
    r = _post(client, h, idem, f"/requests/{rid}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert _bal(db, owner.id, "vault") == 40_000
    r = _post(client, h, idem, f"/requests/{rid}/cancel")
    assert r.status_code == 409
    r = _post(client, h, idem, "/vault/withdrawals", {"amount": 40_001, "currency": "USD"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "insufficient_funds"
    admin, _ = make_user(roles=["admin"])
    assert client.post(f"{T}/jobs/run-due", headers=auth_headers(admin)).status_code == 200
