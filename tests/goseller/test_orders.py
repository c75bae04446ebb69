"""Orders end to end: cart, placement with stock reservation, payment callback, fulfilment,
delivery, cancellation, returns; ownership; refusals write nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from api.core.errors import Conflict
from api.goseller import orders
from api.goseller.models import Order, OrderItem, Product
from api.wallet.service import owned_account

API = "/api/v1/goseller"


def balance(db, user_id: int, currency: str = "EUR") -> int:
    db.expire_all()
    account = owned_account(db, user_id, currency, create=False)
    return account.balance if account else 0


def stock(db, product_id: int) -> int:
    db.expire_all()
    return db.get(Product, product_id).stock


def test_full_order_flow_and_ownership(client, market, db):
    shop, other_shop = market.shop(), market.shop()
    buyer, stranger = market.actor(), market.actor()
    product = market.product(shop, price_minor=1999, stock=5)
    cart = market.cart(buyer, product["id"], 2)
    assert cart["status"] == "cart" and cart["items"][0]["qty"] == 2
    assert stock(db, product["id"]) == 5  # a cart reserves nothing

    placed = market.place(buyer, cart["id"], postal_code="sw1a 1aa", country="gb")
    assert placed["status"] == "placed"
    assert placed["subtotal_minor"] == 3998
    assert placed["platform_fee_minor"] == 399  # 10 % rounded down
    assert (placed["ship_postal_code"], placed["ship_country"]) == ("SW1A1AA", "GB")
    assert placed["items"][0]["unit_price_minor"] == 1999
    assert stock(db, product["id"]) == 3

    # Paying debits the buyer's wallet: no wallet or too little money is a 422, nothing moves.
    pay = f"{API}/orders/{cart['id']}/pay"
    r = client.post(pay, headers=buyer.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "no_wallet"
    market.fund(buyer.id, 3997)
    r = client.post(pay, headers=buyer.headers)
    assert r.status_code == 422 and r.json()["error"]["code"] == "insufficient_funds"
    assert balance(db, buyer.id) == 3997
    assert client.get(f"{API}/orders/{cart['id']}", headers=buyer.headers).json()["status"] == \
        "placed"
    market.fund(buyer.id, 1)
    r = client.post(pay, headers=buyer.headers)
    assert r.status_code == 200 and r.json()["status"] == "paid"
    assert balance(db, buyer.id) == 0
    assert client.post(pay, headers=buyer.headers).status_code == 409
    r = client.post(f"{API}/seller/orders/{cart['id']}/deliver", headers=shop.headers)
    assert r.status_code == 409 and r.json()["error"]["code"] == "bad_order_state"
    r = client.post(f"{API}/seller/orders/{cart['id']}/fulfill", headers=shop.headers)
    assert r.status_code == 200 and r.json()["status"] == "fulfilled"
    r = client.post(f"{API}/seller/orders/{cart['id']}/deliver", headers=shop.headers)
    body = r.json()
    assert body["status"] == "delivered"
    deadline = datetime.fromisoformat(body["return_deadline"])
    assert deadline - datetime.fromisoformat(body["delivered_at"]) == timedelta(days=14)

    # Only the buyer and the shop see the order; others get 404.
    assert client.get(f"{API}/orders/{cart['id']}", headers=stranger.headers).status_code == 404
    assert client.get(f"{API}/seller/orders/{cart['id']}",
                      headers=other_shop.headers).status_code == 404
    assert client.post(f"{API}/seller/orders/{cart['id']}/cancel", headers=other_shop.headers,
                       json={"reason": "x"}).status_code == 404
    assert [o["id"] for o in client.get(f"{API}/seller/orders",
                                        headers=shop.headers).json()] == [cart["id"]]
    assert client.get(f"{API}/seller/orders", headers=other_shop.headers).json() == []
    assert [o["id"] for o in client.get(f"{API}/orders", headers=buyer.headers).json()] == \
        [cart["id"]]


def test_cart_refusals(client, market):
    shop = market.shop()
    buyer = market.actor()
    eur = market.product(shop, stock=2)
    usd = market.product(shop, currency="USD")
    r = client.put(f"{API}/cart/items", headers=buyer.headers,
                   json={"product_id": eur["id"], "qty": 3})
    assert r.status_code == 409 and r.json()["error"]["details"]["available"] == 2
    market.cart(buyer, eur["id"], 1)
    r = client.put(f"{API}/cart/items", headers=buyer.headers,
                   json={"product_id": usd["id"], "qty": 1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "currency_mismatch"
    r = client.put(f"{API}/cart/items", headers=shop.headers,
                   json={"product_id": eur["id"], "qty": 1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "own_product"
    for bad in ({"product_id": eur["id"], "qty": -1}, {"product_id": eur["id"]},
                {"product_id": "x", "qty": 1}):
        assert client.put(f"{API}/cart/items", headers=buyer.headers,
                          json=bad).status_code == 422
    assert client.put(f"{API}/cart/items", headers=buyer.headers,
                      json={"product_id": 99999999, "qty": 1}).status_code == 404
    # qty 0 removes the line; an empty cart cannot be placed.
    cart = market.cart(buyer, eur["id"], 0)
    assert cart["items"] == []
    r = client.post(f"{API}/orders/{cart['id']}/place", headers=buyer.headers,
                    json={"address": {"name": "a", "line1": "b", "city": "c",
                                      "postal_code": "10115", "country": "DE"}})
    assert r.status_code == 422 and r.json()["error"]["code"] == "empty_cart"


def test_place_refusals_reserve_nothing(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    plenty = market.product(shop, stock=10)
    scarce = market.product(shop, stock=3)
    market.cart(buyer, plenty["id"], 4)
    cart = market.cart(buyer, scarce["id"], 3)
    # Someone else buys the scarce item first.
    rival = market.actor()
    market.buy(rival, shop, scarce, 1, paid=False)
    r = client.post(f"{API}/orders/{cart['id']}/place", headers=buyer.headers,
                    json={"address": {"name": "a", "line1": "b", "city": "c",
                                      "postal_code": "10115", "country": "DE"}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "insufficient_stock"
    assert stock(db, plenty["id"]) == 10  # the first line's reservation was rolled back
    assert stock(db, scarce["id"]) == 2
    db.expire_all()
    assert db.get(Order, cart["id"]).status == "cart"
    for bad in ({"postal_code": "!!"}, {"country": "DEU"}, {"name": ""}):
        address = {"name": "a", "line1": "b", "city": "c", "postal_code": "10115",
                   "country": "DE"} | bad
        r = client.post(f"{API}/orders/{cart['id']}/place", headers=buyer.headers,
                        json={"address": address})
        assert r.status_code == 422, bad
    market.cart(buyer, scarce["id"], 2)
    market.place(buyer, cart["id"])
    r = client.post(f"{API}/orders/{cart['id']}/place", headers=buyer.headers,
                    json={"address": {"name": "a", "line1": "b", "city": "c",
                                      "postal_code": "10115", "country": "DE"}})
    assert r.status_code == 409 and r.json()["error"]["code"] == "bad_order_state"
    assert stock(db, plenty["id"]) == 6 and stock(db, scarce["id"]) == 0


def test_cancel_releases_stock_and_records_refund(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, stock=5, price_minor=500)
    placed = market.buy(buyer, shop, product, 2, paid=False)
    assert stock(db, product["id"]) == 3
    r = client.post(f"{API}/orders/{placed}/cancel", headers=buyer.headers,
                    json={"reason": "changed my mind"})
    assert r.status_code == 200 and r.json()["status"] == "canceled"
    assert r.json()["refund_status"] == "none"
    assert stock(db, product["id"]) == 5

    paid = market.buy(buyer, shop, product, 1)
    r = client.post(f"{API}/seller/orders/{paid}/cancel", headers=shop.headers, json={})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    r = client.post(f"{API}/seller/orders/{paid}/cancel", headers=shop.headers,
                    json={"reason": "out of stock"})
    body = r.json()
    assert body["status"] == "canceled" and body["refunded_minor"] == 500
    assert body["refund_status"] == "refunded"
    assert balance(db, buyer.id) == 500  # the refund went back to the buyer's wallet
    assert stock(db, product["id"]) == 5
    r = client.post(f"{API}/orders/{paid}/cancel", headers=buyer.headers, json={})
    assert r.status_code == 409

    shipped = market.buy(buyer, shop, product, 1)
    client.post(f"{API}/seller/orders/{shipped}/fulfill", headers=shop.headers)
    r = client.post(f"{API}/orders/{shipped}/cancel", headers=buyer.headers, json={})
    assert r.status_code == 409 and r.json()["error"]["details"]["status"] == "fulfilled"


def test_return_within_window_only(client, market, db):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, stock=4, price_minor=700)
    now = datetime.now(UTC)
    recent = market.buy(buyer, shop, product, 1, delivered_at=now - timedelta(days=2))
    old = market.buy(buyer, shop, product, 1, delivered_at=now - timedelta(days=15))
    assert stock(db, product["id"]) == 2
    r = client.post(f"{API}/orders/{recent}/return", headers=buyer.headers,
                    json={"reason": "broken"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["refunded_minor"]) == ("returned", 700)
    assert stock(db, product["id"]) == 3
    r = client.post(f"{API}/orders/{old}/return", headers=buyer.headers, json={})
    assert r.status_code == 409 and r.json()["error"]["code"] == "return_window_closed"
    assert client.post(f"{API}/orders/{recent}/return", headers=buyer.headers,
                       json={}).status_code == 409
    placed = market.buy(buyer, shop, product, 1, paid=False)
    assert client.post(f"{API}/orders/{placed}/return", headers=buyer.headers,
                       json={}).status_code == 409


def test_concurrent_payments_of_one_order_charge_once(market, db):
    import threading

    from api.db import new_session

    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, price_minor=300)
    order_id = market.buy(buyer, shop, product, 2, paid=False)
    market.fund(buyer.id, 6000)
    barrier = threading.Barrier(5)
    results: list = []

    def pay() -> None:
        with new_session() as s:
            barrier.wait()
            try:
                results.append(orders.pay_order(s, buyer.id, order_id).status)
            except Conflict as exc:
                results.append(exc.code)

    threads = [threading.Thread(target=pay) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["bad_order_state"] * 4 + ["paid"]
    assert balance(db, buyer.id) == 6000 - 600


def test_out_of_range_ids_and_filters_are_422_not_500(client, market):
    buyer = market.actor()
    huge = 2**63
    for path in (f"{API}/orders/{huge}", f"{API}/products/{huge}", f"{API}/orders/0",
                 f"{API}/orders?status=lost", f"{API}/products?min_price={10**20}",
                 f"{API}/products?seller_id={huge}"):
        assert client.get(path, headers=buyer.headers).status_code == 422, path
    r = client.put(f"{API}/cart/items", headers=buyer.headers,
                   json={"product_id": huge, "qty": 1})
    assert r.status_code == 422
    assert client.get(f"{API}/orders/{huge - 1}", headers=buyer.headers).status_code == 404


def test_product_withdrawn_after_carting_cannot_be_placed_but_can_be_removed(client, market):
    shop = market.shop()
    buyer = market.actor()
    product = market.product(shop, stock=5)
    cart = market.cart(buyer, product["id"], 1)
    client.patch(f"{API}/products/{product['id']}", headers=shop.headers, json={"active": False})
    r = client.post(f"{API}/orders/{cart['id']}/place", headers=buyer.headers,
                    json={"address": {"name": "a", "line1": "b", "city": "c",
                                      "postal_code": "10115", "country": "DE"}})
    assert r.status_code == 409 and "no longer sold" in r.json()["error"]["message"]
    assert market.cart(buyer, product["id"], 0)["items"] == []
    r = client.put(f"{API}/cart/items", headers=market.actor().headers,
                   json={"product_id": product["id"], "qty": 0})
    assert r.status_code == 404 and r.json()["error"]["code"] == "cart_not_found"
