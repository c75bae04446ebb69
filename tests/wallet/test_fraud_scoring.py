"""Wallet transfers are fraud-scored at write time inside `wallet_transfer`: allow posts,
review opens a fraud case and posts (and reserves) nothing until support approves, block is a
403 with the ledger unchanged; every decision is recorded in fraud_decisions."""

from __future__ import annotations

import uuid

from sqlalchemy import text

from tests.wallet.conftest import ledger_snapshot

URL = "/api/v1/wallets"
T = "/api/v1/trusty"
# The default rules, except per-IP velocity: every test client shares one address here.
DEFAULTS = {"review_score": 40, "block_score": 80, "max_source_attempts": 10**9}


def _send(client, headers, to, amount, key=None):
    return client.post(f"{URL}/transfers",
                       headers={**headers, "Idempotency-Key": key or uuid.uuid4().hex},
                       json={"to_user_id": to, "amount": amount, "currency": "USD"})


def _balances(db, *user_ids):
    db.expire_all()
    return dict(db.execute(text("SELECT code, balance FROM wallet_accounts WHERE user_id = ANY(:u)"),
                           {"u": list(user_ids)}).all())


def _decisions(db, user_id):
    return [tuple(r) for r in db.execute(text(
        "SELECT decision, outcome, action FROM fraud_decisions WHERE user_id = :u ORDER BY id"),
        {"u": user_id}).all()]


def test_held_transfer_posts_nothing_until_support_approves(client, funded, auth_headers, idem,
                                                            db, make_user, fraud_config):
    fraud_config(**DEFAULTS)
    sender, _ = funded(500_000)
    payee, _ = funded(0)
    h = auth_headers(sender)
    before, balances_before = ledger_snapshot(db), _balances(db, sender.id, payee.id)
    # Large with no history (35) + large to a new counterparty (30) = 65: review.
    r = _send(client, h, payee.id, 200_000, key="held-1")
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "held_for_review" and body["decision"] == "review"
    assert body["score"] == 65
    assert ledger_snapshot(db) == before  # nothing posted, nothing reserved
    assert _balances(db, sender.id, payee.id) == balances_before
    case = db.execute(text("SELECT status, hold_tx_id, amount, to_user_id, decision_id "
                           "FROM fraud_cases WHERE id = :i"), {"i": body["fraud_case_id"]}).one()
    assert (case.status, case.hold_tx_id, case.amount, case.to_user_id) == (
        "open", None, 200_000, payee.id)
    assert case.decision_id == body["decision_id"]
    assert _decisions(db, sender.id) == [("review", "held", "wallet_transfer")]
    # A replay answers the stored decision and opens no second case.
    again = _send(client, h, payee.id, 200_000, key="held-1")
    assert again.status_code == 202 and again.json() == body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(_decisions(db, sender.id)) == 1

    support, _ = make_user(roles=["support"])
    hs = auth_headers(support)
    queue = client.get(f"{T}/fraud/cases", headers=hs).json()
    assert body["fraud_case_id"] in [c["id"] for c in queue]
    r = client.post(f"{T}/fraud/cases/{body['fraud_case_id']}/approve",
                    headers={**hs, **idem()}, json={"note": "known customer"})
    assert r.status_code == 200 and r.json()["status"] == "approved", r.text
    after = _balances(db, sender.id, payee.id)
    assert after[f"user:{sender.id}:USD"] == 300_000 and after[f"user:{payee.id}:USD"] == 200_000
    assert f"hold:{sender.id}:USD" not in after  # no hold account was ever used
    assert _decisions(db, sender.id) == [("review", "posted", "wallet_transfer")]

    # Another held transfer, rejected: nothing moves.
    other, _ = funded(0)
    r = _send(client, h, other.id, 150_000)
    assert r.status_code == 202
    snapshot = ledger_snapshot(db)
    r = client.post(f"{T}/fraud/cases/{r.json()['fraud_case_id']}/reject",
                    headers={**hs, **idem()}, json={})
    assert r.status_code == 200 and r.json()["status"] == "rejected"
    assert ledger_snapshot(db) == snapshot
    assert _balances(db, other.id)[f"user:{other.id}:USD"] == 0
    assert _decisions(db, sender.id)[-1] == ("review", "refused", "wallet_transfer")


def test_approval_of_a_held_transfer_is_refused_when_funds_are_gone(
        client, funded, auth_headers, idem, db, make_user, fraud_config):
    fraud_config(**DEFAULTS)
    sender, _ = funded(200_000)
    payee, _ = funded(0)
    h = auth_headers(sender)
    case_id = _send(client, h, payee.id, 200_000).json()["fraud_case_id"]
    fraud_config(**{**DEFAULTS, "review_score": 10**9, "block_score": 10**9})
    assert _send(client, h, funded(0)[0].id, 150_000).status_code == 201  # spent meanwhile
    fraud_config(**DEFAULTS)
    snapshot = ledger_snapshot(db)
    support, _ = make_user(roles=["support"])
    r = client.post(f"{T}/fraud/cases/{case_id}/approve",
                    headers={**auth_headers(support), **idem()}, json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "insufficient_funds"
    assert ledger_snapshot(db) == snapshot
    assert db.execute(text("SELECT status FROM fraud_cases WHERE id = :i"),
                      {"i": case_id}).scalar() == "open"


def test_blocked_transfer_is_403_and_the_ledger_is_unchanged(client, funded, auth_headers, db,
                                                             fraud_config):
    fraud_config(**{**DEFAULTS, "block_score": 60})
    sender, _ = funded(500_000)
    payee, _ = funded(0)
    h = auth_headers(sender)
    before = ledger_snapshot(db)
    r = _send(client, h, payee.id, 200_000, key="blocked-1")
    assert r.status_code == 403, r.text
    error = r.json()["error"]
    assert error["code"] == "fraud_blocked" and error["request_id"] == r.headers["x-request-id"]
    assert error["details"]["decision"] == "block" and error["details"]["score"] == 65
    assert {x["rule"] for x in error["details"]["reasons"]} == {"amount_above_history",
                                                                "new_counterparty_large"}
    assert ledger_snapshot(db) == before
    assert _decisions(db, sender.id) == [("block", "refused", "wallet_transfer")]
    assert db.execute(text("SELECT count(*) FROM fraud_cases WHERE user_id = :u"),
                      {"u": sender.id}).scalar() == 0
    # The decision is the key's answer: a replay returns it (with its own request id).
    again = _send(client, h, payee.id, 200_000, key="blocked-1")
    assert again.status_code == 403
    assert again.json()["error"]["details"] == error["details"]
    assert again.json()["error"]["request_id"] == again.headers["x-request-id"]
    assert len(_decisions(db, sender.id)) == 1


def test_allowed_and_failed_attempts_are_recorded_and_velocity_holds(
        client, funded, auth_headers, db, fraud_config):
    fraud_config(**{**DEFAULTS, "max_user_attempts": 3})
    sender, _ = funded(1_000)
    payee, _ = funded(0)
    h = auth_headers(sender)
    for _ in range(2):
        r = _send(client, h, payee.id, 100)
        assert r.status_code == 201, r.text
    tx = r.json()["id"]
    decision_id = db.execute(text("SELECT (details->>'fraud_decision')::bigint FROM "
                                  "wallet_transactions WHERE id = :t"), {"t": tx}).scalar()
    assert db.execute(text("SELECT decision, outcome, counterparty_id, amount FROM fraud_decisions "
                           "WHERE id = :i"), {"i": decision_id}).one() == ("allow", "posted",
                                                                        payee.id, 100)
    r = _send(client, h, payee.id, 5_000)  # overdraft: refused, recorded as a failed attempt
    assert r.status_code == 422 and r.json()["error"]["code"] == "insufficient_funds"
    assert _decisions(db, sender.id)[-1] == ("allow", "failed", "wallet_transfer")
    before = ledger_snapshot(db)
    r = _send(client, h, payee.id, 100)  # 3 attempts in the window: velocity (40) -> review
    assert r.status_code == 202 and r.json()["decision"] == "review", r.text
    reasons = db.execute(text("SELECT reasons FROM fraud_decisions WHERE id = :i"),
                         {"i": r.json()["decision_id"]}).scalar()
    assert [x["rule"] for x in reasons] == ["velocity_user"]
    assert ledger_snapshot(db) == before
    assert [d[:2] for d in _decisions(db, sender.id)] == [
        ("allow", "posted"), ("allow", "posted"), ("allow", "failed"), ("review", "held")]


def test_an_attempt_with_a_malformed_amount_counts_as_failed_with_amount_zero(
        client, funded, auth_headers, db, fraud_config):
    # It is probing, so it counts for the failed-attempts rule; the warehouse's gate expects
    # attempted amounts >= 0, so a negative one is recorded as 0 rather than as it came.
    fraud_config(**DEFAULTS)
    sender, _ = funded(1_000)
    payee, _ = funded(0)
    before = ledger_snapshot(db)
    r = _send(client, auth_headers(sender), payee.id, -500)
    assert r.status_code in (400, 422), r.text
    assert ledger_snapshot(db) == before
    assert db.execute(text("SELECT outcome, amount FROM fraud_decisions WHERE user_id = :u"),
                      {"u": sender.id}).all() == [("failed", 0)]
