"""Money through the payment intent and the wallet ledger: every order path moves balances
exactly, the ledger's per-currency total never changes (no money appears or vanishes), and
each ledger transaction is the one the order, intent, refund or payout row names."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from api.core.errors import Conflict
from api.db import new_session
from api.goseller import orders
from api.goseller.models import Order, Payout
from api.goseller.money import ref
from api.payments.models import PaymentIntent
from api.wallet import service as ledger
from api.wallet.models import LedgerEntry

API = "/api/v1/goseller"


def balances(db, **accounts) -> dict:
    db.expire_all()
    return {name: db.get(type(acc), acc.id).balance for name, acc in accounts.items()}


def entries_of(db, ref: str) -> dict[int, int]:
    tx = int(ref.removeprefix("wallet_tx:"))
    return {e.account_id: e.amount for e in
            db.scalars(select(LedgerEntry).where(LedgerEntry.transaction_id == tx))}


def test_payment_payout_and_refund_move_balances_exactly(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, price_minor=1999, stock=10)
    market.fund(buyer.id, 10_000)
    with new_session() as s:
        accounts = {"buyer": ledger.owned_account(s, buyer.id, "EUR"),
                    "seller": ledger.owned_account(s, shop.id, "EUR"),
                    "holding": ledger.system_account(s, "payouts", "EUR"),
                    "fees": ledger.system_account(s, "fees", "EUR")}
        s.commit()
        total_before = ledger.total_by_currency(s).get("EUR")
    start = balances(db, **accounts)

    kept = market.buy(buyer, shop, product, 2, paid=False)
    assert client.post(f"{API}/orders/{kept}/pay", headers=buyer.headers).status_code == 200
    refunded = market.buy(buyer, shop, product, 1, paid=False)
    assert client.post(f"{API}/orders/{refunded}/pay", headers=buyer.headers).status_code == 200
    mid = balances(db, **accounts)
    assert mid["buyer"] == start["buyer"] - 3998 - 1999
    assert mid["holding"] == start["holding"] + 3998 + 1999

    assert client.post(f"{API}/orders/{refunded}/cancel", headers=buyer.headers,
                       json={"reason": "no"}).status_code == 200
    after_refund = balances(db, **accounts)
    assert after_refund["buyer"] == start["buyer"] - 3998
    assert after_refund["holding"] == start["holding"] + 3998

    client.post(f"{API}/seller/orders/{kept}/fulfill", headers=shop.headers)
    with new_session() as s:
        orders.deliver_order(s, shop.id, kept, now=datetime.now(UTC) - timedelta(days=15))
    with new_session() as s:
        made = [p for p in orders.run_payouts(s) if p.order_id == kept]
    assert len(made) == 1
    end = balances(db, **accounts)
    assert end["seller"] == start["seller"] + 3998 - 399
    assert end["fees"] == start["fees"] + 399
    assert end["holding"] == start["holding"]  # everything paid in was paid out or refunded
    assert end["buyer"] == start["buyer"] - 3998

    db.expire_all()
    order = db.get(Order, kept)
    intent = db.get(PaymentIntent, order.payment_intent_id)
    with new_session() as s:
        clearing = ledger.system_account(s, "wallet_clearing", "EUR").id
        s.commit()
    # Paid through the intent: buyer -> wallet_clearing (authorization) -> escrow (capture).
    assert entries_of(db, ref(intent.authorization_tx_id)) == {accounts["buyer"].id: -3998,
                                                               clearing: 3998}
    assert order.payment_ref == ref(intent.capture_tx_id)
    assert entries_of(db, order.payment_ref) == {clearing: -3998, accounts["holding"].id: 3998}
    payout = db.scalar(select(Payout).where(Payout.order_id == kept))
    assert entries_of(db, payout.ledger_ref) == {accounts["holding"].id: -3998,
                                                  accounts["seller"].id: 3599,
                                                  accounts["fees"].id: 399}
    refund_entries = db.scalars(select(LedgerEntry).where(
        LedgerEntry.transaction_id == int(db.get(Order, refunded).refund_ref.split(":")[1])))
    moved: dict[int, int] = {}
    for e in refund_entries:  # the intent's refund passes through wallet_clearing (net 0)
        moved[e.account_id] = moved.get(e.account_id, 0) + e.amount
    assert moved == {accounts["holding"].id: -1999, clearing: 0, accounts["buyer"].id: 1999}
    with new_session() as s:
        assert ledger.total_by_currency(s).get("EUR") == total_before


def test_return_refunds_and_nothing_is_paid_out(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, price_minor=800)
    order_id = market.buy(buyer, shop, product, 1,
                          delivered_at=datetime.now(UTC) - timedelta(days=1))
    with new_session() as s:
        buyer_wallet = ledger.owned_account(s, buyer.id, "EUR")
        s.commit()
    assert balances(db, b=buyer_wallet)["b"] == 0
    r = client.post(f"{API}/orders/{order_id}/return", headers=buyer.headers, json={})
    assert r.status_code == 200 and r.json()["refund_status"] == "refunded"
    assert balances(db, b=buyer_wallet)["b"] == 800
    with new_session() as s:
        later = orders.run_payouts(s, now=datetime.now(UTC) + timedelta(days=60))
    assert order_id not in [p.order_id for p in later]
    with new_session() as s:
        assert ledger.owned_account(s, shop.id, "EUR", create=False) is None


def test_an_order_paid_out_cannot_also_be_refunded(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, price_minor=900)
    delivered = datetime.now(UTC) - timedelta(days=14, seconds=30)
    order_id = market.buy(buyer, shop, product, 1, delivered_at=delivered)
    with new_session() as s:
        assert order_id in [p.order_id for p in orders.run_payouts(s)]
    # A return stamped inside the window (a server whose clock lags) is still refused.
    with new_session() as s, pytest.raises(Conflict) as refused:
        deadline = s.get(Order, order_id).return_deadline
        orders.return_order(s, buyer.id, order_id, now=deadline - timedelta(seconds=1))
    assert refused.value.code == "already_paid_out"
    db.expire_all()
    order = db.get(Order, order_id)
    assert (order.status, order.refunded_minor) == ("delivered", 0)
