"""Issue 13, idempotency: a refusal is an answer too. A payment refused with a key is
replayed as refused for that key after the funds arrive; no intent is kept, nothing moves."""

from __future__ import annotations

from sqlalchemy import func, select

from api.payments.models import PaymentIntent, Refund
from api.wallet import service as ledger
from tests.wallet.conftest import ledger_snapshot

P = "/api/v1/payments"


def _mint(db, user_id: int, amount: int) -> None:
    account = ledger.owned_account(db, user_id, "USD")
    mint = ledger.system_account(db, "adjustments", "USD")
    ledger.post(db, "adjustment", [ledger.Posting(mint.id, -amount),
                                   ledger.Posting(account.id, amount)])
    db.commit()


def _count(db, model, *where) -> int:
    db.expire_all()
    return db.scalar(select(func.count()).select_from(model).where(*where))


def test_a_refused_wallet_payment_is_replayed_not_paid_later(client, funded, auth_headers, db):
    payer, _ = funded(1_000)
    seller, _ = funded(0, roles=["seller"])
    h = auth_headers(payer)
    method = client.post(f"{P}/methods/wallet", headers=h).json()["id"]
    key = {"Idempotency-Key": "pay-for-the-sofa"}
    body = {"amount": 2_000, "currency": "USD", "payee_user_id": seller.id,
            "payment_method_id": method, "confirm": True}
    first = client.post(f"{P}/intents", headers={**h, **key}, json=body)
    assert first.status_code == 422 and first.json()["error"]["code"] == "insufficient_funds"
    _mint(db, payer.id, 5_000)
    before = ledger_snapshot(db)
    again = client.post(f"{P}/intents", headers={**h, **key}, json=body)
    assert again.status_code == 422, again.text
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["error"]["request_id"] == again.headers["x-request-id"]
    assert ledger_snapshot(db) == before
    assert _count(db, PaymentIntent, PaymentIntent.user_id == payer.id) == 0
    r = client.post(f"{P}/intents", headers={**h, "Idempotency-Key": "new-try"}, json=body)
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text


def test_a_refused_refund_is_replayed(client, funded, auth_headers, db):
    payer, _ = funded(5_000)
    seller, _ = funded(0, roles=["seller"])
    hp, hs = auth_headers(payer), auth_headers(seller)
    method = client.post(f"{P}/methods/wallet", headers=hp).json()["id"]
    paid = client.post(f"{P}/intents", headers={**hp, "Idempotency-Key": "p1"},
                       json={"amount": 2_000, "currency": "USD", "payee_user_id": seller.id,
                             "payment_method_id": method, "confirm": True}).json()
    received = 2_000 - paid["fee_amount"]
    # The seller spent what it received: the refund is refused, and stays refused.
    seller_wallet = ledger.owned_account(db, seller.id, "USD")
    spent = ledger.system_account(db, "adjustments", "USD")
    ledger.post(db, "adjustment", [ledger.Posting(seller_wallet.id, -received),
                                   ledger.Posting(spent.id, received)])
    db.commit()
    key = {**hs, "Idempotency-Key": "refund-1"}
    first = client.post(f"{P}/intents/{paid['id']}/refunds", headers=key,
                        json={"amount": received})
    assert first.status_code == 422 and first.json()["error"]["code"] == "insufficient_funds"
    _mint(db, seller.id, received)
    before = ledger_snapshot(db)
    again = client.post(f"{P}/intents/{paid['id']}/refunds", headers=key,
                        json={"amount": received})
    assert (again.status_code, again.headers["idempotent-replayed"]) == (422, "true")
    assert ledger_snapshot(db) == before
    assert _count(db, Refund, Refund.intent_id == paid["id"]) == 0
