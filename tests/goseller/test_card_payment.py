"""Paying an order with a card: a top-up payment intent (payments service, simulated provider)
covers what the buyer's wallet lacks, then the order's own wallet-balance intent pays it."""

from __future__ import annotations

from sqlalchemy import select

from api.db import new_session
from api.goseller.models import Order
from api.payments import service as payments
from api.payments.models import PaymentIntent
from api.wallet import service as ledger

API = "/api/v1/goseller"


def card(user_id: int, number: str) -> int:
    with new_session() as s:
        return payments.add_card(s, user_id, number, 12, 2031).id


def wallet_balance(db, user_id: int) -> int:
    db.expire_all()
    account = ledger.owned_account(db, user_id, "EUR", create=False)
    return account.balance if account else 0


def intents_of(db, user_id: int) -> list[PaymentIntent]:
    db.expire_all()
    return list(db.scalars(select(PaymentIntent).where(PaymentIntent.user_id == user_id)
                           .order_by(PaymentIntent.id)))


def test_card_top_up_then_wallet_charge(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, price_minor=2500)
    order_id = market.buy(buyer, shop, product, 2, paid=False)
    market.fund(buyer.id, 1000)  # the wallet covers part of the 5000
    with new_session() as s:
        holding = ledger.system_account(s, "payouts", "EUR")
        s.commit()
    db.expire_all()
    holding_before = db.get(type(holding), holding.id).balance
    r = client.post(f"{API}/orders/{order_id}/pay", headers=buyer.headers,
                    json={"payment_method_id": card(buyer.id, "4242424242424242")})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "paid"
    top_up, order_intent = intents_of(db, buyer.id)
    assert order_intent.id == db.get(Order, order_id).payment_intent_id
    assert (order_intent.status, order_intent.payee_account, order_intent.amount) == (
        "succeeded", "payouts", 5000)
    intent = top_up
    assert intent.status == "succeeded" and intent.payee_user_id is None
    # The intent covered exactly the 4000 shortfall after its fee.
    assert intent.amount - intent.fee_amount >= 4000
    assert intent.amount - 1 - payments.fee_for(intent.amount - 1) < 4000
    assert wallet_balance(db, buyer.id) == 1000 + intent.amount - intent.fee_amount - 5000
    db.expire_all()
    assert db.get(type(holding), holding.id).balance == holding_before + 5000


def test_declined_and_processing_cards_leave_the_order_placed(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, price_minor=700)
    order_id = market.buy(buyer, shop, product, 1, paid=False)
    pay = f"{API}/orders/{order_id}/pay"
    r = client.post(pay, headers=buyer.headers,
                    json={"payment_method_id": card(buyer.id, "4000000000000002")})
    assert r.status_code == 402 and r.json()["error"]["code"] == "card_declined"
    r = client.post(pay, headers=buyer.headers,
                    json={"payment_method_id": card(buyer.id, "4000000000000259")})
    assert r.status_code == 409 and r.json()["error"]["code"] == "payment_processing"
    assert sorted(i.status for i in intents_of(db, buyer.id)) == ["failed", "processing"]
    assert wallet_balance(db, buyer.id) == 0
    db.expire_all()
    assert db.get(Order, order_id).status == "placed"
    # Someone else's card is refused; nothing is charged.
    other = market.actor()
    r = client.post(pay, headers=buyer.headers,
                    json={"payment_method_id": card(other.id, "4242424242424242")})
    assert r.status_code == 404
    assert intents_of(db, other.id) == [] and len(intents_of(db, buyer.id)) == 2
    assert client.post(pay, headers=buyer.headers,
                       json={"payment_method_id": 0}).status_code == 422
