"""Issue 13, item 2: multisig and cold storage bypassed with the owner's token alone.

The attacks, each refused with nothing stored changed: weakening a policy at once (a mule as
the only approver, delay 0) to approve one's own pending withdrawal; a request decided by the
approvers and quorum of a later policy; the threshold skipped through a plain route
(/wallets/transfers, a wallet payment, a direct ledger posting). And what must still pass:
tightening at once, a weakening change after the current quorum and delay, the flows that
legitimately move money past a user's limit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

from api.core.errors import AppError
from api.db import new_session
from api.trusty.models import MultisigPolicy, PolicyApprover
from api.trusty.service import run_due
from api.wallet import service as ledger
from api.wallet.verify import verify_ledger
from tests.wallet.conftest import ledger_snapshot

T = "/api/v1/trusty"
W = "/api/v1/wallets"
P = "/api/v1/payments"
HOUR = 3600


def _bal(db, user_id, kind="user", currency="USD"):
    db.expire_all()
    return db.execute(text("SELECT balance FROM wallet_accounts WHERE code = :c"),
                      {"c": f"{kind}:{user_id}:{currency}"}).scalar() or 0


def _policy_body(approvers, required=2, threshold=5_000, delay=HOUR, ttl=HOUR):
    return {"threshold": threshold, "required": required, "approver_ids": [a.id for a in approvers],
            "approval_ttl_seconds": ttl, "vault_delay_seconds": delay}


def _put(client, headers, body):
    return client.put(f"{T}/policies/USD", headers=headers, json=body)


def _stored_policy(db, owner_id) -> tuple:
    """The policy row and its approvers, as stored."""
    db.expire_all()
    policy = db.scalars(select(MultisigPolicy).where(MultisigPolicy.user_id == owner_id)).one()
    approvers = sorted(db.scalars(select(PolicyApprover.user_id)
                                  .where(PolicyApprover.policy_id == policy.id)))
    return (policy.threshold, policy.required, policy.approval_ttl_seconds,
            policy.vault_delay_seconds, approvers)


def _limit(db, owner_id) -> int | None:
    """The owner's wallet approval limit the ledger enforces."""
    db.expire_all()
    return ledger.approval_limit(db, owner_id, "USD")


@pytest.fixture
def guarded(client, funded, auth_headers):
    """An owner with 100,000 USD under a 2-of-3 policy (threshold 5,000, delay and ttl 1 h)."""
    owner, _ = funded(100_000)
    approvers = [funded(0)[0] for _ in range(3)]
    r = _put(client, auth_headers(owner), _policy_body(approvers))
    assert r.status_code == 200, r.text
    return owner, approvers


def _post(client, headers, idem, path, body=None):
    return client.post(f"{T}{path}", headers={**headers, **idem()},
                       json=body if body is not None else {})


def test_owner_token_cannot_make_a_mule_the_approver_of_its_own_withdrawal(
        client, funded, auth_headers, idem, db, guarded):
    owner, (a1, a2, a3) = guarded
    mule, _ = funded(0)
    h = auth_headers(owner)
    r = _post(client, h, idem, "/transfers", {"to_user_id": mule.id, "amount": 40_000,
                                              "currency": "USD"})
    assert r.status_code == 202 and r.json()["status"] == "pending_approval", r.text
    rid = r.json()["request_id"]
    policy_before, ledger_before = _stored_policy(db, owner.id), ledger_snapshot(db)

    # The attack: the mule as the only approver, no delay, no threshold to speak of.
    r = _put(client, h, _policy_body([mule], required=1, threshold=10**12, delay=0))
    assert r.status_code == 202, r.text
    change = r.json()
    assert change["status"] == "pending"
    assert set(change["weakens"]) == {"threshold", "required", "approver_ids",
                                      "vault_delay_seconds"}
    assert (sorted(change["decider_ids"]), change["quorum"], change["delay_seconds"]) == (
        sorted([a1.id, a2.id, a3.id]), 2, HOUR)
    assert _stored_policy(db, owner.id) == policy_before
    # The mule decides nothing: neither the held transfer nor the change.
    r = _post(client, auth_headers(mule), idem, f"/requests/{rid}/approve")
    assert r.status_code == 404 and r.json()["error"]["code"] == "request_not_found"
    r = _post(client, auth_headers(mule), idem, f"/policy-changes/{change['id']}/approve")
    assert r.status_code == 404 and r.json()["error"]["code"] == "policy_change_not_found"
    r = _post(client, h, idem, f"/policy-changes/{change['id']}/approve")
    assert r.status_code == 403 and r.json()["error"]["code"] == "self_approval"
    # Nor does the plain wallet route move what the policy holds.
    r = client.post(f"{W}/transfers", headers={**h, **idem()},
                    json={"to_user_id": mule.id, "amount": 40_000, "currency": "USD"})
    assert r.status_code == 403 and r.json()["error"]["code"] == "approval_required", r.text
    assert _stored_policy(db, owner.id) == policy_before
    assert ledger_snapshot(db) == ledger_before
    assert (_bal(db, mule.id), _bal(db, owner.id), _bal(db, owner.id, "hold")) == (
        0, 60_000, 40_000)
    assert _limit(db, owner.id) == 5_000
    assert verify_ledger(db).ok


def test_weakening_waits_for_the_current_quorum_then_the_delay(
        client, auth_headers, idem, db, guarded, funded):
    owner, (a1, a2, a3) = guarded
    h = auth_headers(owner)
    before = _stored_policy(db, owner.id)
    weaker = _policy_body([a1, a2, a3], required=1, delay=0)
    r = _put(client, h, weaker)
    assert r.status_code == 202 and r.json()["weakens"] == ["required", "vault_delay_seconds"]
    cid = r.json()["id"]
    # A retried PUT is the same proposal; another proposal waits for this one to end.
    assert _put(client, h, weaker).json()["id"] == cid
    r = _put(client, h, _policy_body([a1, a2], required=1))
    assert r.status_code == 409 and r.json()["error"]["code"] == "policy_change_pending"
    assert _post(client, auth_headers(a1), idem, f"/policy-changes/{cid}/approve").json()[
        "status"] == "pending"
    r = _post(client, auth_headers(a2), idem, f"/policy-changes/{cid}/approve")
    assert r.status_code == 200 and r.json()["status"] == "approved" and r.json()["execute_after"]
    visible = client.get(f"{T}/policy-changes", headers=auth_headers(a3)).json()
    assert [c["id"] for c in visible] == [cid]
    with new_session() as s:
        assert run_due(s)["changes_applied"] == 0  # the current policy's delay is not over
    assert _stored_policy(db, owner.id) == before
    with new_session() as s:
        assert run_due(s, now=datetime.now(UTC) + timedelta(hours=2))["changes_applied"] == 1
    assert _stored_policy(db, owner.id)[:4] == (5_000, 1, HOUR, 0)
    assert _limit(db, owner.id) == 5_000

    # The owner may withdraw a change before it applies.
    higher = _policy_body([a1, a2, a3], required=1, threshold=9_000, delay=0)
    r = _put(client, h, higher)
    assert r.status_code == 202 and r.json()["weakens"] == ["threshold"]
    cid = r.json()["id"]
    r = _post(client, auth_headers(a3), idem, f"/policy-changes/{cid}/reject")
    assert r.json()["status"] == "pending"
    r = _post(client, h, idem, f"/policy-changes/{cid}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    r = _post(client, auth_headers(a1), idem, f"/policy-changes/{cid}/approve")
    assert r.status_code == 409 and r.json()["error"]["code"] == "request_not_pending"
    assert _stored_policy(db, owner.id)[0] == 5_000
    # Proposed again: one approval is the quorum of the policy now, and with no delay in it
    # the change applies with that approval (the wallet's limit follows).
    cid = _put(client, h, higher).json()["id"]
    r = _post(client, auth_headers(a2), idem, f"/policy-changes/{cid}/approve")
    assert r.status_code == 200 and r.json()["status"] == "applied", r.text
    assert (_stored_policy(db, owner.id)[0], _limit(db, owner.id)) == (9_000, 9_000)


def test_tightening_applies_at_once(client, auth_headers, db, guarded):
    owner, approvers = guarded
    r = _put(client, auth_headers(owner),
             _policy_body(approvers, required=3, threshold=1_000, delay=2 * HOUR, ttl=600))
    assert r.status_code == 200, r.text
    assert _stored_policy(db, owner.id) == (1_000, 3, 600, 2 * HOUR,
                                            sorted(a.id for a in approvers))
    assert _limit(db, owner.id) == 1_000


def test_a_request_keeps_the_approvers_and_quorum_it_was_opened_with(
        client, funded, auth_headers, idem, db):
    owner, _ = funded(100_000)
    a1, a2, a3 = (funded(0)[0] for _ in range(3))
    payee, _ = funded(0)
    h = auth_headers(owner)
    day = 24 * HOUR  # requests outlive the delay of the policy change below
    assert _put(client, h, _policy_body([a1, a2, a3], ttl=day)).status_code == 200
    transfer = {"to_user_id": payee.id, "amount": 20_000, "currency": "USD"}
    rid = _post(client, h, idem, "/transfers", transfer).json()["request_id"]
    # Tightened to 3 of 3 after it was opened: it is still decided by 2 of 3.
    assert _put(client, h, _policy_body([a1, a2, a3], required=3, ttl=day)).status_code == 200
    _post(client, auth_headers(a1), idem, f"/requests/{rid}/approve")
    r = _post(client, auth_headers(a2), idem, f"/requests/{rid}/approve")
    assert r.status_code == 200 and r.json()["status"] == "executed", r.text
    assert r.json()["required"] == 2 and _bal(db, payee.id) == 20_000

    # Opened under 3 of 3, then the approvers legitimately become {a1, newcomer}, 1 of 2:
    # the newcomer cannot decide the older request, and a1 alone is not its quorum.
    rid = _post(client, h, idem, "/transfers", transfer).json()["request_id"]
    newcomer, _ = funded(0)
    cid = _put(client, h, _policy_body([a1, newcomer], required=1, ttl=day)).json()["id"]
    for approver in (a1, a2, a3):
        _post(client, auth_headers(approver), idem, f"/policy-changes/{cid}/approve")
    with new_session() as s:
        assert run_due(s, now=datetime.now(UTC) + timedelta(hours=2))["changes_applied"] == 1
    assert _stored_policy(db, owner.id)[1:5:3] == (1, sorted([a1.id, newcomer.id]))
    before = ledger_snapshot(db)
    r = _post(client, auth_headers(newcomer), idem, f"/requests/{rid}/approve")
    assert r.status_code == 404
    assert rid not in [q["id"] for q in client.get(f"{T}/requests",
                                                   headers=auth_headers(newcomer)).json()]
    r = _post(client, auth_headers(a1), idem, f"/requests/{rid}/approve")
    assert r.status_code == 200 and r.json()["status"] == "pending"
    assert ledger_snapshot(db) == before and _bal(db, payee.id) == 20_000


def test_no_plain_route_moves_what_the_policy_holds(client, funded, auth_headers, idem, db,
                                                   guarded):
    owner, _ = guarded
    payee, _ = funded(0, roles=["seller"])
    h = auth_headers(owner)
    before = ledger_snapshot(db)
    # /wallets/transfers: the threshold itself needs approval.
    r = client.post(f"{W}/transfers", headers={**h, **idem()},
                    json={"to_user_id": payee.id, "amount": 5_000, "currency": "USD"})
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "approval_required"
    assert r.json()["error"]["details"]["threshold"] == 5_000
    # A wallet payment to a payee (GoSeller orders pay this way): refused, no intent kept.
    method = client.post(f"{P}/methods/wallet", headers=h).json()["id"]
    r = client.post(f"{P}/intents", headers={**h, **idem()},
                    json={"amount": 20_000, "currency": "USD", "payee_user_id": payee.id,
                          "payment_method_id": method, "confirm": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "approval_required", r.text
    assert client.get(f"{P}/intents", headers=h).json() == []
    # Any caller of the ledger (jobs, simulator, other services): the SQL refuses.
    with new_session() as s:
        with pytest.raises(AppError) as refused:
            ledger.transfer(s, from_user_id=owner.id, to_user_id=payee.id, amount=5_000,
                            currency="USD")
        assert (refused.value.status_code, refused.value.code) == (403, "approval_required")
        s.rollback()
        wallet = ledger.wallet_of(s, owner.id, "USD")
        payouts = ledger.system_account(s, "payouts", "USD")
        with pytest.raises(AppError, match="needs approval"):
            ledger.post(s, "goseller_order", [ledger.Posting(wallet.id, -3_000),
                                              ledger.Posting(payouts.id, 3_000),
                                              ledger.Posting(wallet.id, -3_000),
                                              ledger.Posting(payouts.id, 3_000)])
        s.rollback()
    assert ledger_snapshot(db) == before
    assert _bal(db, owner.id) == 100_000 and _bal(db, payee.id) == 0
    # Below the threshold the plain routes work; above it, the approval route holds it.
    r = client.post(f"{W}/transfers", headers={**h, **idem()},
                    json={"to_user_id": payee.id, "amount": 4_999, "currency": "USD"})
    assert r.status_code == 201, r.text
    r = _post(client, h, idem, "/transfers", {"to_user_id": payee.id, "amount": 20_000,
                                              "currency": "USD"})
    assert r.status_code == 202 and r.json()["status"] == "pending_approval"
    assert verify_ledger(db).ok


def test_a_fraud_review_does_not_stand_in_for_the_quorum(client, funded, auth_headers, idem, db,
                                                         guarded, fraud_config):
    """Support releases a fraud case alone: a sum the policy holds goes to its approvers."""
    fraud_config(review_score=0, block_score=10**9)  # every transfer scores 'review'
    owner, _ = guarded
    payee, _ = funded(0)
    r = _post(client, auth_headers(owner), idem, "/transfers",
              {"to_user_id": payee.id, "amount": 20_000, "currency": "USD"})
    assert r.status_code == 202 and r.json()["status"] == "pending_approval", r.text
    assert "fraud_case_id" not in r.json()


def test_flows_that_pass_a_users_limit(client, funded, auth_headers, idem, db, guarded):
    """Money coming in, moving into the owner's own hold or vault, and a payee's refund of a
    payment it received are not approvals' business; the ledger stays whole."""
    owner, (a1, a2, _) = guarded
    payer, _ = funded(50_000)
    h = auth_headers(owner)
    # A payment into the guarded wallet, refunded in full by its payee (the owner).
    method = client.post(f"{P}/methods/wallet", headers=auth_headers(payer)).json()["id"]
    r = client.post(f"{P}/intents", headers={**auth_headers(payer), **idem()},
                    json={"amount": 30_000, "currency": "USD", "payee_user_id": owner.id,
                          "payment_method_id": method, "confirm": True})
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    received = 30_000 - r.json()["fee_amount"]
    r = client.post(f"{P}/intents/{r.json()['id']}/refunds", headers={**h, **idem()},
                    json={"amount": received})
    assert r.status_code == 201, r.text
    # Cold storage: into the owner's own hold at once, out of it only by the quorum.
    r = _post(client, h, idem, "/vault/deposits", {"amount": 40_000, "currency": "USD"})
    assert r.status_code == 202, r.text
    vid = r.json()["id"]
    _post(client, auth_headers(a1), idem, f"/requests/{vid}/approve")
    _post(client, auth_headers(a2), idem, f"/requests/{vid}/approve")
    with new_session() as s:
        assert run_due(s, now=datetime.now(UTC) + timedelta(hours=2))["executed"] >= 1
    assert (_bal(db, owner.id), _bal(db, owner.id, "vault")) == (60_000, 40_000)
    report = verify_ledger(db)
    assert report.ok, report.as_dict()
    assert ledger.total_by_currency(db)["USD"] == 0  # minted from adjustments: sums to zero


def test_policy_change_rows_record_the_deciders(db, guarded, client, auth_headers):
    from api.trusty.models import PolicyChange

    owner, approvers = guarded
    r = _put(client, auth_headers(owner), _policy_body(approvers[:2], required=1))
    db.expire_all()
    change = db.get(PolicyChange, r.json()["id"])
    assert (sorted(change.decider_ids), change.quorum) == (sorted(a.id for a in approvers), 2)
    assert sorted(change.approver_ids) == sorted(a.id for a in approvers[:2])


def test_a_goseller_order_above_the_buyers_threshold_is_not_paid(client, make_user, auth_headers,
                                                                 db):
    """GoSeller pays through a wallet payment intent: the ledger's limit covers it too."""
    from api.goseller.models import Order
    from tests.goseller.market import Market, skip_undelivered_order_messages

    market = Market(client, make_user, auth_headers)
    try:
        shop, buyer, approver = market.shop(), market.actor(), market.actor()
        r = client.put(f"{T}/policies/EUR", headers=buyer.headers,
                       json={"threshold": 1_000, "required": 1, "approver_ids": [approver.id]})
        assert r.status_code == 200, r.text
        order = market.cart(buyer, market.product(shop, price_minor=1_500)["id"], 1)
        market.place(buyer, order["id"])
        market.fund(buyer.id, 1_500)
        before = ledger_snapshot(db)
        r = client.post(f"/api/v1/goseller/orders/{order['id']}/pay", headers=buyer.headers)
        assert r.status_code == 403 and r.json()["error"]["code"] == "approval_required", r.text
        assert ledger_snapshot(db) == before and _bal(db, buyer.id, currency="EUR") == 1_500
        db.expire_all()
        assert db.get(Order, order["id"]).payment_intent_id is None
    finally:
        skip_undelivered_order_messages()
