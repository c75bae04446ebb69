"""Fraud rules at write time: allow, review (held, support queue), block; every decision
recorded."""

from __future__ import annotations

from sqlalchemy import text

from tests.wallet.conftest import ledger_snapshot

T = "/api/v1/trusty"


def _send(client, h, idem, to, amount, device=None):
    headers = {**h, **idem(), **({"X-Device-ID": device} if device else {})}
    return client.post(f"{T}/transfers", headers=headers,
                       json={"to_user_id": to, "amount": amount, "currency": "USD"})


def _bal(db, user_id, kind="user"):
    db.expire_all()
    return db.execute(text("SELECT balance FROM wallet_accounts WHERE code = :c"),
                      {"c": f"{kind}:{user_id}:USD"}).scalar() or 0


def test_large_first_transfer_to_new_counterparty_is_held_then_support_decides(
        client, funded, auth_headers, idem, db, make_user):
    user, _ = funded(500_000)
    payee, _ = funded(0)
    h = auth_headers(user)
    r = _send(client, h, idem, payee.id, 200_000)  # large + no history + new counterparty = 65
    assert r.status_code == 202 and r.json()["status"] == "held_for_review", r.text
    case_id = r.json()["fraud_case_id"]
    assert _bal(db, user.id) == 300_000 and _bal(db, user.id, "hold") == 200_000
    support, _ = make_user(roles=["support"])
    hs = auth_headers(support)
    assert client.get(f"{T}/fraud/cases", headers=h).status_code == 403
    queue = client.get(f"{T}/fraud/cases", headers=hs).json()
    assert case_id in [c["id"] for c in queue]
    r = client.post(f"{T}/fraud/cases/{case_id}/approve", headers={**hs, **idem()}, json={"note": "ok"})
    assert r.status_code == 200 and r.json()["status"] == "approved"
    assert _bal(db, payee.id) == 200_000 and _bal(db, user.id, "hold") == 0
    r = client.post(f"{T}/fraud/cases/{case_id}/reject", headers={**hs, **idem()}, json={})
    assert r.status_code == 409
    # A known counterparty now: the same amount is allowed (35 points: little history only).
    r = _send(client, h, idem, payee.id, 100_000)
    assert r.status_code == 201 and r.json()["score"] == 35
    # A new counterparty again: held, then rejected, and the money returns.
    other, _ = funded(0)
    r = _send(client, h, idem, other.id, 150_000)
    case2 = r.json()["fraud_case_id"]
    client.post(f"{T}/fraud/cases/{case2}/reject", headers={**hs, **idem()}, json={})
    assert _bal(db, user.id) == 200_000 and _bal(db, other.id) == 0
    rows = db.execute(text("SELECT decision, outcome FROM fraud_decisions WHERE user_id = :u "
                           "ORDER BY id"), {"u": user.id}).all()
    assert [tuple(r) for r in rows] == [("review", "posted"), ("allow", "posted"),
                                        ("review", "refused")]


def test_velocity_and_failed_attempts_block(client, funded, auth_headers, idem, db):
    user, _ = funded(1_000)
    payee, _ = funded(0)
    h = auth_headers(user)
    for _ in range(3):  # overdrafts: refused, recorded as failed attempts
        r = _send(client, h, idem, payee.id, 5_000)
        assert r.status_code == 422 and r.json()["error"]["code"] == "insufficient_funds"
    before = ledger_snapshot(db)
    r = _send(client, h, idem, payee.id, 10)  # failed attempts (50) -> review at least
    assert r.status_code == 202 and r.json()["decision"] == "review"
    # Velocity on one device across users, plus failures: block.
    for _ in range(8):
        _send(client, h, idem, payee.id, 1, device="dev-1")
    r = _send(client, h, idem, payee.id, 1, device="dev-1")
    assert r.status_code == 403 and r.json()["error"]["code"] == "fraud_blocked"
    rules = {x["rule"] for x in r.json()["error"]["details"]["reasons"]}
    assert {"velocity_user", "failed_attempts"} <= rules
    counts = dict(db.execute(text("SELECT decision, count(*) FROM fraud_decisions WHERE user_id = :u "
                                  "GROUP BY decision"), {"u": user.id}).all())
    assert counts.get("block", 0) >= 1 and sum(counts.values()) == 13
    assert ledger_snapshot(db)["totals"] == before["totals"]


def test_small_known_transfer_is_allowed(client, funded, auth_headers, idem, db):
    user, _ = funded(10_000)
    payee, _ = funded(0)
    r = _send(client, auth_headers(user), idem, payee.id, 700)
    assert r.status_code == 201 and r.json()["decision"] == "allow"
    assert _bal(db, payee.id) == 700
    r = _send(client, auth_headers(user), idem, user.id, 5)
    assert r.status_code == 422 and r.json()["error"]["code"] == "transfer_to_self"


def test_velocity_per_ip_across_users(client, funded, auth_headers, idem, db):
    payee, _ = funded(0)
    senders = [funded(1_000)[0] for _ in range(20)]
    for s in senders:  # 20 users, one attempt each, same IP
        assert _send(client, auth_headers(s), idem, payee.id, 1).status_code == 201
    late, _ = funded(1_000)
    r = _send(client, auth_headers(late), idem, payee.id, 1)
    assert r.status_code == 202 and r.json()["decision"] == "review"
    reasons = db.execute(text("SELECT reasons FROM fraud_decisions WHERE id = :i"),
                         {"i": r.json()["decision_id"]}).scalar()
    assert [x["rule"] for x in reasons] == ["velocity_ip"]


def test_velocity_counters_past_every_window_are_pruned_and_recent_ones_kept(db):
    from datetime import UTC, datetime, timedelta

    from api.trusty.fraud import fraud_settings, prune_velocity
    from api.trusty.models import FraudVelocity

    now = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
    window = fraud_settings().window_minutes
    subject = "user:prune-test"
    old = now - timedelta(minutes=window + 61)
    recent = now - timedelta(minutes=window)
    db.add_all([FraudVelocity(subject=subject, minute=old, n=3),
                FraudVelocity(subject=subject, minute=recent, n=2)])
    db.commit()
    assert prune_velocity(db, now) >= 1
    db.commit()
    left = db.execute(text("SELECT minute, n FROM fraud_velocity WHERE subject = :s"),
                      {"s": subject}).all()
    assert [(m.astimezone(UTC), n) for m, n in left] == [(recent, 2)]
