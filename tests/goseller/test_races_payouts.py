"""Races on separate connections: buyers for the last items (no oversell), parallel payout
runs (no double payout); payouts after the return window only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from api.core.errors import AppError
from api.db import new_session
from api.goseller import orders
from api.goseller.models import Order, Payout, Product
from api.wallet.service import owned_account

API = "/api/v1/goseller"
ADDRESS = orders.Address("A", "Main 1", "Berlin", None, "10115", "DE")


def run_threads(n: int, work) -> list:
    """Run work(i) in n threads released together; each returns or raises."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def target(i: int) -> None:
        barrier.wait()
        try:
            results[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - collected for assertions
            results[i] = exc

    threads = [threading.Thread(target=target, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_no_oversell_when_buyers_race_for_last_items(market, db):
    shop = market.shop()
    product = market.product(shop, stock=5)
    buyers = [market.actor() for _ in range(16)]
    carts = [market.cart(b, product["id"], 1)["id"] for b in buyers]

    def place(i: int):
        with new_session() as s:  # one connection per buyer
            return orders.place_order(s, buyers[i].id, carts[i], ADDRESS).status

    results = run_threads(len(buyers), place)
    placed = [r for r in results if r == "placed"]
    refused = [r for r in results if isinstance(r, AppError)]
    assert len(placed) == 5, results
    assert len(refused) == 11 and {e.code for e in refused} == {"insufficient_stock"}
    db.expire_all()
    assert db.get(Product, product["id"]).stock == 0
    n_placed = db.scalar(select(func.count()).select_from(Order).where(
        Order.id.in_(carts), Order.status == "placed"))
    assert n_placed == 5


def test_no_oversell_with_multi_unit_orders_and_cancellations(market, db):
    shop = market.shop()
    product = market.product(shop, stock=7)
    buyers = [market.actor() for _ in range(8)]
    carts = [market.cart(b, product["id"], 2)["id"] for b in buyers]

    def place_then_cancel_some(i: int):
        with new_session() as s:
            orders.place_order(s, buyers[i].id, carts[i], ADDRESS)
            if i % 2:
                orders.cancel_by_buyer(s, buyers[i].id, carts[i])
                return "canceled"
            return "placed"

    results = run_threads(len(buyers), place_then_cancel_some)
    held = results.count("placed")
    db.expire_all()
    remaining = db.get(Product, product["id"]).stock
    assert remaining >= 0
    assert remaining == 7 - 2 * held  # every unit is either in stock or in a placed order
    assert held <= 3


def test_payout_only_after_return_window_and_exactly_once(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, stock=20, price_minor=2500)
    now = datetime.now(UTC)
    due = [market.buy(buyer, shop, product, 2, delivered_at=now - timedelta(days=15))
           for _ in range(6)]
    early = market.buy(buyer, shop, product, 1, delivered_at=now - timedelta(days=3))
    returned = market.buy(buyer, shop, product, 1, delivered_at=now - timedelta(days=1))
    assert client.post(f"{API}/orders/{returned}/return", headers=buyer.headers,
                       json={}).status_code == 200
    paid_only = market.buy(buyer, shop, product, 1)

    def run(_: int):
        with new_session() as s:
            return [p.order_id for p in orders.run_payouts(s)]

    results = run_threads(4, run)
    made = [oid for r in results for oid in r]
    assert all(not isinstance(r, Exception) for r in results), results
    mine = set(made) & set(due + [early, returned, paid_only])
    assert sorted(mine) == sorted(due)  # each due order once across four parallel runs
    assert sorted(oid for oid in made if oid in mine) == sorted(due)
    rows = db.scalars(select(Payout).where(Payout.seller_id == shop.seller_id)).all()
    assert sorted(p.order_id for p in rows) == sorted(due)
    for p in rows:
        assert (p.gross_minor, p.fee_minor, p.net_minor) == (5000, 500, 4500)
        assert p.status == "paid" and p.ledger_ref.startswith("wallet_tx:")
    # The seller's wallet received each net amount exactly once.
    db.expire_all()
    assert owned_account(db, shop.id, "EUR", create=False).balance == 6 * 4500
    # A second run (API, support) finds nothing left for this shop.
    r = client.post(f"{API}/payouts/run", headers=market.support.headers)
    assert r.status_code == 200
    assert not {p["order_id"] for p in r.json()["payouts"]} & set(due)
    # Much later, the early order becomes due; the returned one never.
    with new_session() as s:
        later = [p.order_id for p in orders.run_payouts(s, now=now + timedelta(days=30))]
    assert early in later and returned not in later and paid_only not in later
    listed = client.get(f"{API}/seller/payouts", headers=shop.headers).json()
    assert sorted(p["order_id"] for p in listed) == sorted(due + [early])
    other = market.shop()
    assert client.get(f"{API}/seller/payouts", headers=other.headers).json() == []
    assert client.post(f"{API}/payouts/run", headers=shop.headers).status_code == 403


def test_database_refuses_a_second_payout_row_for_an_order(market, db):
    import pytest
    from sqlalchemy.exc import IntegrityError

    shop = market.shop()
    product = market.product(shop)
    order_id = market.buy(market.actor(), shop, product, 1,
                          delivered_at=datetime.now(UTC) - timedelta(days=20))
    with new_session() as s:
        assert [p.order_id for p in orders.run_payouts(s) if p.order_id == order_id] == [order_id]
    db.add(Payout(order_id=order_id, seller_id=shop.seller_id, currency="EUR", gross_minor=1,
                  fee_minor=0, net_minor=1, status="awaiting_ledger"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()
    assert db.scalar(select(func.count()).select_from(Payout)
                     .where(Payout.order_id == order_id)) == 1
