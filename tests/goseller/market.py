"""Test helpers shared by the goseller, affiliates and franchises tests: shops, products and
orders driven through the API and the service functions; buyers' wallets funded through the
real ledger (minted from the `adjustments` system account, like the wallet tests do)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from api.db import new_session, session_scope
from api.goseller import orders
from api.goseller.models import Order
from api.wallet import service as ledger
from api.wallet.service import Posting

ADDRESS = {"name": "Ada Buyer", "line1": "Main St 1", "city": "Berlin", "region": "BE",
           "postal_code": "10115", "country": "DE"}


@dataclass
class Actor:
    user: object
    headers: dict

    @property
    def id(self) -> int:
        return self.user.id


@dataclass
class Shop(Actor):
    seller_id: int = 0


class Market:
    def __init__(self, client, make_user, auth_headers):
        self.client, self.make_user, self.auth_headers = client, make_user, auth_headers
        self.admin = self.actor("admin")
        self.support = self.actor("support")

    def actor(self, *roles: str) -> Actor:
        user, _ = self.make_user(roles=list(roles) or ["customer"])
        return Actor(user, self.auth_headers(user))

    def shop(self, verified: bool = True) -> Shop:
        owner = self.actor("seller")
        r = self.client.post("/api/v1/goseller/sellers", headers=owner.headers,
                             json={"shop_name": f"shop {uuid.uuid4().hex[:6]}"})
        assert r.status_code == 201, r.text
        shop = Shop(owner.user, owner.headers, r.json()["id"])
        if verified:
            r = self.client.post(f"/api/v1/goseller/sellers/{shop.seller_id}/status",
                                 headers=self.support.headers, json={"status": "verified"})
            assert r.status_code == 200, r.text
        return shop

    def product(self, shop: Shop, **fields) -> dict:
        body = {"sku": f"SKU-{uuid.uuid4().hex[:8]}", "title": "Blue mug", "category": "home",
                "price_minor": 1250, "currency": "EUR", "stock": 10} | fields
        r = self.client.post("/api/v1/goseller/products", headers=shop.headers, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def cart(self, buyer: Actor, product_id: int, qty: int) -> dict:
        r = self.client.put("/api/v1/goseller/cart/items", headers=buyer.headers,
                            json={"product_id": product_id, "qty": qty})
        assert r.status_code == 200, r.text
        return r.json()

    def place(self, buyer: Actor, order_id: int, **address) -> dict:
        r = self.client.post(f"/api/v1/goseller/orders/{order_id}/place", headers=buyer.headers,
                             json={"address": ADDRESS | address})
        assert r.status_code == 200, r.text
        return r.json()

    def fund(self, user_id: int, amount: int, currency: str = "EUR") -> None:
        with new_session() as s:
            account = ledger.owned_account(s, user_id, currency)
            mint = ledger.system_account(s, "adjustments", currency)
            ledger.post(s, "adjustment", [Posting(mint.id, -amount), Posting(account.id, amount)])
            s.commit()

    def pay(self, order_id: int, at: datetime | None = None) -> None:
        """Fund the buyer with exactly the order total, then pay through the ledger."""
        with session_scope() as s:
            order = s.get(Order, order_id)
            buyer, total, currency = order.buyer_id, order.subtotal_minor, order.currency
        self.fund(buyer, total, currency)
        with new_session() as s:
            orders.pay_order(s, buyer, order_id, now=at)

    def deliver(self, shop: Shop, order_id: int, at: datetime | None = None) -> None:
        r = self.client.post(f"/api/v1/goseller/seller/orders/{order_id}/fulfill",
                             headers=shop.headers)
        assert r.status_code == 200, r.text
        with session_scope() as s:
            orders.deliver_order(s, shop.id, order_id, now=at or datetime.now(UTC))

    def buy(self, buyer: Actor, shop: Shop, product: dict, qty: int = 1, *, paid: bool = True,
            delivered_at: datetime | None = None, paid_at: datetime | None = None,
            **address) -> int:
        order = self.cart(buyer, product["id"], qty)
        self.place(buyer, order["id"], **address)
        if paid or delivered_at:
            self.pay(order["id"], at=paid_at)
        if delivered_at:
            self.deliver(shop, order["id"], at=delivered_at)
        return order["id"]


def set_fee_balance(amount: int, currency: str = "EUR") -> None:
    """Test setup: bring the platform fee account to exactly `amount` through the ledger
    (against the adjustments account), e.g. to show a refusal when it cannot cover a payment."""
    with new_session() as s:
        fees = ledger.system_account(s, "fees", currency)
        adjust = ledger.system_account(s, "adjustments", currency)
        s.refresh(fees, with_for_update=True)
        delta = amount - fees.balance
        if delta:
            ledger.post(s, "adjustment", [Posting(fees.id, delta), Posting(adjust.id, -delta)])
        s.commit()


def shift_system_balance(name: str, delta: int, currency: str = "EUR") -> None:
    """Test setup: move `delta` into (or out of, when negative) a system account from the
    adjustments account, through the ledger."""
    with new_session() as s:
        account = ledger.system_account(s, name, currency)
        adjust = ledger.system_account(s, "adjustments", currency)
        ledger.post(s, "adjustment", [Posting(account.id, delta), Posting(adjust.id, -delta)])
        s.commit()


def skip_undelivered_order_messages() -> None:
    """Test hygiene: the order messages these tests write go to example.com users and are
    never delivered; mark them skipped so they do not fill the notification sweep's batch
    that other domains' tests run against the same database."""
    from sqlalchemy import update

    from api.notifications.models import OutboxMessage

    with session_scope() as s:
        s.execute(update(OutboxMessage)
                  .where(OutboxMessage.status == "pending",
                         OutboxMessage.category.like("goseller.%"))
                  .values(status="skipped", last_error="test message, not delivered"))
