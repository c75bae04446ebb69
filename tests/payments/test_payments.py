"""Payments: methods, intents through the state machine, captures, refunds, fees, and every
refusal leaving the ledger unchanged."""

from __future__ import annotations

from sqlalchemy import text

from tests.wallet.conftest import ledger_snapshot

P = "/api/v1/payments"
GOOD, DECLINE, NSF, TIMEOUT = ("4242424242424242", "4000000000000002", "4000000000009995",
                               "4000000000000259")


def _card(client, h, number=GOOD):
    r = client.post(f"{P}/methods/cards", headers=h,
                    json={"number": number, "exp_month": 12, "exp_year": 2099})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _pay(client, h, idem, **body):
    return client.post(f"{P}/intents", headers={**h, **idem()}, json=body)


def _wallet_balance(db, user_id, currency="USD"):
    return db.execute(text("SELECT balance FROM wallet_accounts WHERE code = :c"),
                      {"c": f"user:{user_id}:{currency}"}).scalar()


def test_card_stored_as_token_and_encrypted_fingerprint(client, funded, auth_headers, db):
    user, _ = funded(0)
    h = auth_headers(user)
    method_id = _card(client, h)
    listed = client.get(f"{P}/methods", headers=h).json()
    assert listed[0]["last4"] == "4242" and "fingerprint" not in listed[0]
    raw = db.execute(text("SELECT card_token, card_fingerprint FROM payment_methods WHERE id = :i"),
                     {"i": method_id}).one()
    assert raw.card_token.startswith("tok_sim_") and GOOD not in raw.card_token
    assert raw.card_fingerprint.startswith("ehbenc:v1:")
    r = client.post(f"{P}/methods/cards", headers=h,
                    json={"number": "4242424242424241", "exp_month": 12, "exp_year": 2099})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_card_number"
    r = client.post(f"{P}/methods/cards", headers=h,
                    json={"number": GOOD, "exp_month": 1, "exp_year": 2001})
    assert r.status_code == 422 and r.json()["error"]["code"] == "card_expired"
    r = client.post(f"{P}/methods/bank-accounts", headers=h,
                    json={"account_number": "DE89370400440532013000", "routing": "COBADEFF"})
    assert r.status_code == 201 and r.json()["last4"] == "3000"
    stored = db.execute(text("SELECT bank_account_number FROM payment_methods WHERE id = :i"),
                        {"i": r.json()["id"]}).scalar()
    assert "0532013000" not in stored and stored.startswith("ehbenc:v1:")


def test_card_top_up_posts_through_clearing_with_fee(client, funded, auth_headers, idem, db):
    user, _ = funded(0)
    h = auth_headers(user)
    before = ledger_snapshot(db)
    r = _pay(client, h, idem, amount=10_000, currency="USD", payment_method_id=_card(client, h),
             confirm=True)
    assert r.status_code == 201, r.text
    intent = r.json()
    assert intent["status"] == "succeeded" and intent["amount_captured"] == 10_000
    assert intent["fee_amount"] == 290 + 30
    assert _wallet_balance(db, user.id) == 10_000 - 320
    after = ledger_snapshot(db)
    assert after["totals"] == before["totals"]  # clearing went negative by exactly the amount
    fees = db.execute(text("SELECT balance FROM wallet_accounts WHERE code='system:fees:USD'")).scalar()
    assert fees >= 320


def test_declines_are_402_and_post_nothing(client, funded, auth_headers, idem, db):
    user, _ = funded(0)
    h = auth_headers(user)
    for number, code in ((DECLINE, "card_declined"), (NSF, "insufficient_funds")):
        method = _card(client, h, number)
        before = ledger_snapshot(db)
        r = _pay(client, h, idem, amount=500, currency="USD", payment_method_id=method, confirm=True)
        assert r.status_code == 402, r.text
        assert r.json()["error"]["code"] == code
        assert r.json()["error"]["details"]["intent"]["status"] == "failed"
        assert ledger_snapshot(db) == before


def test_manual_capture_partial_then_refunds_never_above_captured(client, funded, auth_headers,
                                                                   idem, db, make_user):
    payer, _ = funded(0)
    seller, _ = funded(0, roles=["seller"])
    hp, hs = auth_headers(payer), auth_headers(seller)
    r = _pay(client, hp, idem, amount=5_000, currency="USD", payee_user_id=seller.id,
             payment_method_id=_card(client, hp), capture_method="manual", confirm=True)
    assert r.status_code == 201 and r.json()["status"] == "requires_capture"
    intent_id = r.json()["id"]
    over = client.post(f"{P}/intents/{intent_id}/capture", headers={**hp, **idem()},
                       json={"amount": 5_001})
    assert over.status_code == 422 and over.json()["error"]["code"] == "capture_exceeds_authorized"
    r = client.post(f"{P}/intents/{intent_id}/capture", headers={**hp, **idem()},
                    json={"amount": 4_000})
    assert r.status_code == 200 and r.json()["status"] == "succeeded"
    fee = r.json()["fee_amount"]
    assert _wallet_balance(db, seller.id) == 4_000 - fee
    # The payer cannot refund; the payee can, up to what was captured.
    assert client.post(f"{P}/intents/{intent_id}/refunds", headers={**hp, **idem()},
                       json={"amount": 100}).status_code == 403
    r = client.post(f"{P}/intents/{intent_id}/refunds", headers={**hs, **idem()}, json={"amount": 1_000})
    assert r.status_code == 201, r.text
    before = ledger_snapshot(db)
    r = client.post(f"{P}/intents/{intent_id}/refunds", headers={**hs, **idem()}, json={"amount": 3_001})
    assert r.status_code == 422 and r.json()["error"]["code"] == "refund_exceeds_captured"
    r = client.post(f"{P}/intents/{intent_id}/refunds", headers={**hs, **idem()}, json={"amount": 0})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_amount"
    assert ledger_snapshot(db) == before
    # Seller's wallet holds 4000-fee-1000; refunding the remaining 3000 needs funds it lacks.
    r = client.post(f"{P}/intents/{intent_id}/refunds", headers={**hs, **idem()}, json={"amount": 3_000})
    assert r.status_code == 422 and r.json()["error"]["code"] == "insufficient_funds"
    assert ledger_snapshot(db) == before
    got = client.get(f"{P}/intents/{intent_id}", headers=hs).json()
    assert got["amount_refunded"] == 1_000


def test_wallet_method_holds_funds_then_cancel_releases(client, funded, auth_headers, idem, db):
    payer, _ = funded(3_000)
    seller, _ = funded(0, roles=["seller"])
    hp = auth_headers(payer)
    wallet_method = client.post(f"{P}/methods/wallet", headers=hp).json()["id"]
    r = _pay(client, hp, idem, amount=2_000, currency="USD", payee_user_id=seller.id,
             payment_method_id=wallet_method, capture_method="manual", confirm=True)
    assert r.json()["status"] == "requires_capture"
    assert _wallet_balance(db, payer.id) == 1_000  # reserved in wallet clearing
    too_much = _pay(client, hp, idem, amount=1_500, currency="USD", payee_user_id=seller.id,
                    payment_method_id=wallet_method, confirm=True)
    assert too_much.status_code == 422 and too_much.json()["error"]["code"] == "insufficient_funds"
    r = client.post(f"{P}/intents/{r.json()['id']}/cancel", headers={**hp, **idem()})
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert _wallet_balance(db, payer.id) == 3_000
    # A captured wallet payment; the seller refunds what it received (the fee is not returned).
    r = _pay(client, hp, idem, amount=1_000, currency="USD", payee_user_id=seller.id,
             payment_method_id=wallet_method, confirm=True)
    assert r.json()["status"] == "succeeded"
    fee = r.json()["fee_amount"]
    assert _wallet_balance(db, seller.id) == 1_000 - fee
    hs = auth_headers(seller)
    full = client.post(f"{P}/intents/{r.json()['id']}/refunds", headers={**hs, **idem()}, json={})
    assert full.status_code == 422 and full.json()["error"]["code"] == "insufficient_funds"
    r2 = client.post(f"{P}/intents/{r.json()['id']}/refunds", headers={**hs, **idem()},
                     json={"amount": 1_000 - fee})
    assert r2.status_code == 201 and r2.json()["amount"] == 1_000 - fee
    assert _wallet_balance(db, payer.id) == 3_000 - fee
    assert _wallet_balance(db, seller.id) == 0


def test_state_machine_refusals(client, funded, auth_headers, idem):
    user, _ = funded(0)
    other, _ = funded(0)
    h = auth_headers(user)
    r = _pay(client, h, idem, amount=100, currency="USD")
    assert r.json()["status"] == "requires_payment_method"
    iid = r.json()["id"]
    r = client.post(f"{P}/intents/{iid}/confirm", headers={**h, **idem()}, json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "payment_method_required"
    r = client.post(f"{P}/intents/{iid}/capture", headers={**h, **idem()}, json={})
    assert r.status_code == 409
    r = client.post(f"{P}/intents/{iid}/refunds", headers={**h, **idem()}, json={})
    assert r.status_code == 403 and r.json()["error"]["code"] == "not_payee"
    # Another user's intent is invisible.
    assert client.get(f"{P}/intents/{iid}", headers=auth_headers(other)).status_code == 404
    for body, code in (({"amount": 0, "currency": "USD"}, "invalid_amount"),
                       ({"amount": 5, "currency": "QQQ"}, "unknown_currency"),
                       ({"amount": 5, "currency": "EUR"}, "no_wallet"),
                       ({"amount": 5, "currency": "USD", "payee_user_id": user.id}, "payment_to_self")):
        r = _pay(client, h, idem, **body)
        assert r.status_code == 422 and r.json()["error"]["code"] == code, (body, r.text)
    r = client.post(f"{P}/intents/{iid}/cancel", headers={**h, **idem()})
    assert r.json()["status"] == "canceled"
    r = client.post(f"{P}/intents/{iid}/confirm", headers={**h, **idem()}, json={})
    assert r.status_code == 409


def test_intent_creation_is_idempotent(client, funded, auth_headers, db):
    user, _ = funded(0)
    h = {**auth_headers(user), "Idempotency-Key": "checkout-1"}
    body = {"amount": 700, "currency": "USD", "payment_method_id": _card(client, auth_headers(user)),
            "confirm": True}
    first = client.post(f"{P}/intents", headers=h, json=body)
    before = ledger_snapshot(db)
    again = client.post(f"{P}/intents", headers=h, json=body)
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    assert ledger_snapshot(db) == before
    r = client.post(f"{P}/intents", headers=h, json={**body, "amount": 701})
    assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_reused"
    assert client.post(f"{P}/intents", headers=auth_headers(user), json=body).status_code == 400


def test_concurrent_refunds_never_exceed_captured(app, funded, auth_headers, idem, db):
    import threading

    from fastapi.testclient import TestClient

    payer, _ = funded(0)
    seller, _ = funded(0, roles=["seller"])
    with TestClient(app) as c:
        hp = auth_headers(payer)
        r = _pay(c, hp, idem, amount=10_000, currency="USD", payee_user_id=seller.id,
                 payment_method_id=_card(c, hp), confirm=True)
        iid = r.json()["id"]
    codes, barrier = [], threading.Barrier(8)

    def refund():
        with TestClient(app) as c:
            barrier.wait()
            codes.append(c.post(f"{P}/intents/{iid}/refunds",
                                headers={**auth_headers(seller), **idem()},
                                json={"amount": 3_000}).status_code)

    threads = [threading.Thread(target=refund) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    # Seller received 10000 - 320 = 9680: three refunds of 3000 fit, the rest are refused.
    assert sorted(codes) == [201] * 3 + [422] * 5
    refunded = db.execute(text("SELECT amount_refunded, (SELECT coalesce(sum(amount), 0) FROM "
                               "payment_refunds WHERE intent_id = :i) FROM payment_intents "
                               "WHERE id = :i"), {"i": iid}).one()
    assert tuple(refunded) == (9_000, 9_000)


def test_escrow_is_for_services_only_and_the_wallet_method_is_one_per_user(client, funded,
                                                                           auth_headers, idem,
                                                                           db):
    """payee_account is not part of the API: a client cannot capture into the marketplace
    escrow (or any system account). Adding the wallet method twice gives the same one."""
    payer, _ = funded(3_000)
    seller, _ = funded(0, roles=["seller"])
    hp = auth_headers(payer)
    first = client.post(f"{P}/methods/wallet", headers=hp).json()["id"]
    assert client.post(f"{P}/methods/wallet", headers=hp).json()["id"] == first
    before = ledger_snapshot(db)
    r = _pay(client, hp, idem, amount=1_000, currency="USD", payee_user_id=seller.id,
             payment_method_id=first, confirm=True, payee_account="payouts")
    assert r.status_code == 422 and r.json()["error"]["code"] == "validation_error"
    assert ledger_snapshot(db) == before
    assert db.execute(text("SELECT count(*) FROM payment_intents WHERE user_id = :u"),
                      {"u": payer.id}).scalar() == 0
