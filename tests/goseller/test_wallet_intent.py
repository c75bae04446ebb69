"""Wallet-paid orders go through a payments intent (wallet-balance method) into escrow:
the intent succeeds or nothing is written; returns refund through the intent; racing payments
of one order pay once; the per-currency ledger total never changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from api.core.errors import AppError
from api.db import new_session
from api.goseller import orders
from api.goseller.models import Order, Product
from api.payments.models import PaymentIntent, PaymentMethod, Refund
from api.wallet import service as ledger
from api.wallet.models import LedgerAccount
from tests.goseller.test_races_payouts import run_threads

API = "/api/v1/goseller"


def snapshot(db) -> dict:
    """Ledger total per currency and the system accounts an order payment touches."""
    db.expire_all()
    codes = ("system:payouts:EUR", "system:wallet_clearing:EUR", "system:fees:EUR")
    with new_session() as s:
        for name in ("payouts", "wallet_clearing", "fees"):
            ledger.system_account(s, name, "EUR")
        s.commit()
        return {"total": ledger.total_by_currency(s).get("EUR", 0)} | {
            code: s.scalar(select(LedgerAccount.balance).where(LedgerAccount.code == code))
            for code in codes}


def wallet(db, user_id: int) -> int:
    db.expire_all()
    return db.scalar(select(LedgerAccount.balance).where(
        LedgerAccount.code == f"user:{user_id}:EUR")) or 0


def intents(db, user_id: int) -> list[PaymentIntent]:
    db.expire_all()
    return list(db.scalars(select(PaymentIntent).where(PaymentIntent.user_id == user_id)
                           .order_by(PaymentIntent.id)))


def test_wallet_paid_order_has_a_succeeded_wallet_intent(client, market, db):
    shop, buyer = market.shop(), market.actor()
    product = market.product(shop, price_minor=1500)
    order_id = market.buy(buyer, shop, product, 2, paid=False)
    market.fund(buyer.id, 5000)
    before = snapshot(db)
    r = client.post(f"{API}/orders/{order_id}/pay", headers=buyer.headers)
    assert r.status_code == 200, r.text
    (intent,) = intents(db, buyer.id)
    assert r.json()["payment_intent_id"] == intent.id
    method = db.get(PaymentMethod, intent.payment_method_id)
    assert method.kind == "wallet" and method.user_id == buyer.id
    assert (intent.status, intent.amount, intent.amount_captured, intent.fee_amount) == (
        "succeeded", 3000, 3000, 0)
    assert (intent.payee_user_id, intent.payee_account) == (shop.id, "payouts")
    assert wallet(db, buyer.id) == 2000
    after = snapshot(db)
    assert after["total"] == before["total"]
    assert after["system:payouts:EUR"] == before["system:payouts:EUR"] + 3000
    assert after["system:wallet_clearing:EUR"] == before["system:wallet_clearing:EUR"]
    # The seller sees the payment, but cannot refund an escrowed order payment by the API.
    r = client.get(f"/api/v1/payments/intents/{intent.id}", headers=shop.headers)
    assert r.status_code == 200 and r.json()["payee_account"] == "payouts"
    r = client.post(f"/api/v1/payments/intents/{intent.id}/refunds", json={},
                    headers=shop.headers | {"Idempotency-Key": f"k-{intent.id}"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "refund_through_order"
    assert snapshot(db) == after


def test_return_refunds_through_the_intent(client, market, db):
    shop, buyer = market.shop(), market.actor()
    product = market.product(shop, price_minor=900, stock=5)
    before = snapshot(db)
    order_id = market.buy(buyer, shop, product, 2,
                          delivered_at=datetime.now(UTC) - timedelta(days=1))
    r = client.post(f"{API}/orders/{order_id}/return", headers=buyer.headers, json={})
    assert r.status_code == 200 and r.json()["refund_status"] == "refunded"
    db.expire_all()
    order = db.get(Order, order_id)
    intent = db.get(PaymentIntent, order.payment_intent_id)
    assert intent.amount_captured == intent.amount_refunded == 1800
    (refund,) = db.scalars(select(Refund).where(Refund.intent_id == intent.id))
    assert refund.amount == 1800 and order.refund_ref == f"wallet_tx:{refund.ledger_transaction_id}"
    assert wallet(db, buyer.id) == 1800  # market.buy funded exactly the total
    assert db.get(Product, product["id"]).stock == 5
    after = snapshot(db)
    assert after["total"] == before["total"]  # funding is a transfer from adjustments too
    assert after["system:payouts:EUR"] == before["system:payouts:EUR"]
    # Nothing more can be refunded: the intent never gives back more than it captured.
    with new_session() as s:
        from api.payments import service as payments
        locked = s.get(PaymentIntent, intent.id)
        try:
            payments.refund(s, locked, 1, escrow_owner=True)
            raise AssertionError("a refund above the captured amount went through")
        except AppError as exc:
            assert exc.code == "refund_exceeds_captured"
        s.rollback()
    assert snapshot(db) == after


def test_insufficient_balance_is_a_clean_422(client, market, db):
    shop, buyer = market.shop(), market.actor()
    product = market.product(shop, price_minor=1000, stock=4)
    order_id = market.buy(buyer, shop, product, 3, paid=False)
    pay = f"{API}/orders/{order_id}/pay"
    r = client.post(pay, headers=buyer.headers)  # no EUR wallet at all
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_wallet"
    market.fund(buyer.id, 2999)
    before = snapshot(db)
    r = client.post(pay, headers=buyer.headers)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "insufficient_funds" and error["details"]["total_minor"] == 3000
    db.expire_all()
    assert db.get(Order, order_id).status == "placed"
    assert db.get(Product, product["id"]).stock == 1  # still reserved
    assert intents(db, buyer.id) == []  # no intent, in processing or otherwise
    assert wallet(db, buyer.id) == 2999 and snapshot(db) == before
    market.fund(buyer.id, 1)  # now it covers the total: the same order pays
    r = client.post(pay, headers=buyer.headers)
    assert r.status_code == 200 and r.json()["status"] == "paid"
    assert [i.status for i in intents(db, buyer.id)] == ["succeeded"]
    assert wallet(db, buyer.id) == 0


def test_racing_payments_of_one_order_pay_once(client, market, db):
    shop, buyer = market.shop(), market.actor()
    product = market.product(shop, price_minor=700)
    order_id = market.buy(buyer, shop, product, 1, paid=False)
    market.fund(buyer.id, 700 * 8)  # enough for every racer: only the order state stops them
    before = snapshot(db)

    def pay(_):
        with new_session() as s:
            return orders.pay_order(s, buyer.id, order_id).status

    results = run_threads(8, pay)
    assert results.count("paid") == 1, results
    assert all(isinstance(r, AppError) and r.code == "bad_order_state"
               for r in results if r != "paid"), results
    (intent,) = intents(db, buyer.id)
    assert intent.status == "succeeded"
    assert wallet(db, buyer.id) == 700 * 7
    after = snapshot(db)
    assert after["total"] == before["total"]
    assert after["system:payouts:EUR"] == before["system:payouts:EUR"] + 700


def test_racing_orders_on_one_wallet_never_overdraw(client, market, db):
    """Six orders of one buyer paid at once from a wallet that covers two: two are paid,
    four refused with nothing written; the first-use wallet method is shared, not duplicated."""
    shop, buyer = market.shop(), market.actor()
    product = market.product(shop, price_minor=500, stock=20)
    order_ids = []
    for _ in range(6):  # one cart per seller: place each before filling the next
        order_ids.append(market.buy(buyer, shop, product, 1, paid=False))
    market.fund(buyer.id, 1000)
    before = snapshot(db)

    def pay(i):
        with new_session() as s:
            return orders.pay_order(s, buyer.id, order_ids[i]).status

    results = run_threads(6, pay)
    assert results.count("paid") == 2, results
    assert all(isinstance(r, AppError) and r.code == "insufficient_funds"
               for r in results if r != "paid"), results
    assert [i.status for i in intents(db, buyer.id)] == ["succeeded", "succeeded"]
    assert wallet(db, buyer.id) == 0
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Order).where(
        Order.id.in_(order_ids), Order.status == "placed")) == 4
    assert db.scalar(select(func.count()).select_from(PaymentMethod).where(
        PaymentMethod.user_id == buyer.id, PaymentMethod.kind == "wallet")) == 1
    after = snapshot(db)
    assert after["total"] == before["total"]
    assert after["system:wallet_clearing:EUR"] == before["system:wallet_clearing:EUR"]


def escrow_balance(db) -> int:
    return snapshot(db)["system:payouts:EUR"]


def test_escrow_never_pays_out_or_refunds_money_it_does_not_hold(client, market, db):
    """The ledger refuses to overdraw `payouts` (the database's no-overdraft check); GoSeller
    answers escrow_short, writes nothing for that order, and a payout run goes on with the
    others."""
    from tests.goseller.market import shift_system_balance

    shop, buyer = market.shop(), market.actor()
    product = market.product(shop, price_minor=1000, stock=5)
    returned = market.buy(buyer, shop, product, 1,
                          delivered_at=datetime.now(UTC) - timedelta(days=1))
    due = market.buy(buyer, shop, product, 1,
                     delivered_at=datetime.now(UTC) - timedelta(days=20))
    drained = escrow_balance(db) - 999  # one minor unit short of either order's 1000
    shift_system_balance("payouts", -drained)
    try:
        before = snapshot(db)
        r = client.post(f"{API}/orders/{returned}/return", headers=buyer.headers, json={})
        assert r.status_code == 409 and r.json()["error"]["code"] == "escrow_short"
        with new_session() as s:
            assert due not in [p.order_id for p in orders.run_payouts(s)]
        db.expire_all()
        assert db.get(Order, returned).status == "delivered"
        assert db.get(Order, due).status == "delivered"
        assert db.get(PaymentIntent, db.get(Order, returned).payment_intent_id
                      ).amount_refunded == 0
        assert ledger.owned_account(db, shop.id, "EUR", create=False) is None
        assert snapshot(db)["total"] == before["total"]
        assert escrow_balance(db) == 999
        assert ledger.system_account(db, "payouts", "EUR").allow_negative is False
    finally:
        shift_system_balance("payouts", drained)
    with new_session() as s:  # with the escrow whole again, the waiting payout goes through
        assert due in [p.order_id for p in orders.run_payouts(s)]
