"""Order messages are written to the outbox in the order's own transaction."""

from __future__ import annotations

from sqlalchemy import select

from api.goseller import notify
from api.notifications.models import OutboxMessage

API = "/api/v1/goseller"


def messages(db, user_id: int) -> list[tuple[str, str]]:
    db.expire_all()
    return [(m.channel, m.category) for m in db.scalars(
        select(OutboxMessage).where(OutboxMessage.user_id == user_id).order_by(OutboxMessage.id))]


def test_placed_paid_and_refund_messages_only_for_committed_changes(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, stock=1, price_minor=400)
    rival = market.actor()
    rival_cart = market.cart(rival, product["id"], 1)
    order_id = market.buy(buyer, shop, product, 1)
    # The rival's placement fails on stock: no message was written for it.
    r = client.post(f"{API}/orders/{rival_cart['id']}/place", headers=rival.headers,
                    json={"address": {"name": "a", "line1": "b", "city": "c",
                                      "postal_code": "10115", "country": "DE"}})
    assert r.status_code == 409
    assert messages(db, rival.id) == []
    assert messages(db, buyer.id) == [("email", notify.PLACED), ("email", notify.RECEIPT)]
    assert messages(db, shop.id) == [("push", notify.NEW_ORDER)]
    client.post(f"{API}/seller/orders/{order_id}/cancel", headers=shop.headers,
                json={"reason": "damaged"})
    assert messages(db, buyer.id)[-1] == ("email", notify.REFUND)
    body = db.scalar(select(OutboxMessage.body).where(OutboxMessage.user_id == buyer.id,
                                                      OutboxMessage.category == notify.REFUND))
    assert "400 EUR" in body
