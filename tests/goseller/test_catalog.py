"""Seller registration and verification, the catalog, search and filters."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select

from api.goseller.models import Product, Seller

API = "/api/v1/goseller"


def test_seller_registers_pending_then_support_verifies(client, market):
    owner = market.actor("seller")
    r = client.post(f"{API}/sellers", headers=owner.headers, json={"shop_name": "  Mugs  "})
    assert r.status_code == 201
    shop = r.json()
    assert shop["status"] == "pending" and shop["shop_name"] == "Mugs"
    again = client.post(f"{API}/sellers", headers=owner.headers, json={"shop_name": "Other"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "seller_exists"
    assert client.get(f"{API}/sellers/me", headers=owner.headers).json()["id"] == shop["id"]

    pending = client.get(f"{API}/sellers?status=pending", headers=market.support.headers).json()
    assert shop["id"] in [s["id"] for s in pending]
    r = client.post(f"{API}/sellers/{shop['id']}/status", headers=market.support.headers,
                    json={"status": "verified"})
    assert r.status_code == 200 and r.json()["status"] == "verified"
    assert r.json()["verified_at"] is not None


def test_seller_status_refusals(client, market):
    shop = market.shop(verified=False)
    sup = market.support.headers
    r = client.post(f"{API}/sellers/{shop.seller_id}/status", headers=sup,
                    json={"status": "suspended"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    r = client.post(f"{API}/sellers/{shop.seller_id}/status", headers=sup,
                    json={"status": "pending"})
    assert r.status_code == 422
    assert client.post(f"{API}/sellers/999999/status", headers=sup,
                       json={"status": "verified"}).status_code == 404
    # A seller cannot verify themselves; a customer cannot open a shop.
    assert client.post(f"{API}/sellers/{shop.seller_id}/status", headers=shop.headers,
                       json={"status": "verified"}).status_code == 403
    customer = market.actor("customer")
    assert client.post(f"{API}/sellers", headers=customer.headers,
                       json={"shop_name": "x"}).status_code == 403
    assert client.post(f"{API}/sellers", json={"shop_name": "x"}).status_code == 401


def test_product_sku_unique_per_seller_and_bad_input_writes_nothing(client, market, db):
    a, b = market.shop(), market.shop()
    market.product(a, sku="MUG-1")
    r = client.post(f"{API}/products", headers=a.headers,
                    json={"sku": "MUG-1", "title": "t", "category": "home", "price_minor": 1,
                          "currency": "EUR", "stock": 1})
    assert r.status_code == 409 and r.json()["error"]["code"] == "sku_taken"
    market.product(b, sku="MUG-1")  # another seller may use the same SKU
    before = db.scalar(select(func.count()).select_from(Product))
    good = {"sku": "OK-1", "title": "t", "category": "home", "price_minor": 100,
            "currency": "EUR", "stock": 1}
    for bad in ({"price_minor": 0}, {"price_minor": -5}, {"price_minor": 12.5},
                {"price_minor": "100"}, {"currency": "ABC"}, {"currency": "EURO"},
                {"stock": -1}, {"stock": 1.0}, {"sku": "has space"}, {"title": ""},
                {"title": "<script>alert(1)</script>"}, {"extra": 1}):
        r = client.post(f"{API}/products", headers=a.headers, json=good | bad)
        assert r.status_code == 422, (bad, r.text)
        assert r.json()["error"]["code"] == "validation_error"
    assert db.scalar(select(func.count()).select_from(Product)) == before
    # Markup is stripped from free text; currency codes are normalized.
    made = market.product(a, title="<b>Big</b> mug<script>x()</script>", currency="usd")
    assert (made["title"], made["currency"]) == ("Big mug", "USD")


def test_seller_changes_only_own_products(client, market):
    a, b = market.shop(), market.shop()
    mine = market.product(a, stock=3)
    theirs = market.product(b)
    r = client.patch(f"{API}/products/{mine['id']}", headers=a.headers,
                     json={"price_minor": 999, "stock": 7, "active": False})
    assert r.status_code == 200
    assert (r.json()["price_minor"], r.json()["stock"], r.json()["active"]) == (999, 7, False)
    r = client.patch(f"{API}/products/{theirs['id']}", headers=a.headers, json={"stock": 0})
    assert r.status_code == 404
    assert client.get(f"{API}/products/{theirs['id']}", headers=a.headers).json()["stock"] == 10
    assert [p["id"] for p in client.get(f"{API}/my/products", headers=a.headers).json()] == \
        [mine["id"]]
    r = client.patch(f"{API}/products/{mine['id']}", headers=a.headers, json={"stock": None})
    assert r.status_code == 422
    market.product(a, sku="TAKEN")
    r = client.patch(f"{API}/products/{mine['id']}", headers=a.headers, json={"sku": "TAKEN"})
    assert r.status_code == 409


def test_search_filters_pagination_and_visibility(client, market):
    shop = market.shop()
    cat = f"cat-{uuid.uuid4().hex[:6]}"
    made = [market.product(shop, title=f"Lamp {i}", category=cat, price_minor=100 * (i + 1),
                           stock=i % 2) for i in range(7)]
    market.product(shop, title="Hidden lamp", category=cat, active=False)
    pending = market.shop(verified=False)
    market.product(pending, title="Pending lamp", category=cat)
    h = shop.headers
    page = client.get(f"{API}/products", headers=h,
                      params={"category": cat, "limit": 3, "sort": "price_asc"}).json()
    assert page["total"] == 7 and page["limit"] == 3
    assert [p["price_minor"] for p in page["items"]] == [100, 200, 300]
    page2 = client.get(f"{API}/products", headers=h,
                       params={"category": cat, "limit": 3, "offset": 6,
                               "sort": "price_asc"}).json()
    assert [p["id"] for p in page2["items"]] == [made[6]["id"]]
    r = client.get(f"{API}/products", headers=h,
                   params={"category": cat, "min_price": 200, "max_price": 400, "in_stock": True})
    assert sorted(p["price_minor"] for p in r.json()["items"]) == [200, 400]
    r = client.get(f"{API}/products", headers=h, params={"category": cat, "q": "lamp 3"})
    assert [p["title"] for p in r.json()["items"]] == ["Lamp 3"]
    # LIKE wildcards in q are literal.
    assert client.get(f"{API}/products", headers=h,
                      params={"category": cat, "q": "%"}).json()["total"] == 0
    assert client.get(f"{API}/products", headers=h,
                      params={"category": cat, "currency": "USD"}).json()["total"] == 0
    for bad in ({"min_price": 5, "max_price": 1}, {"sort": "random"}, {"limit": 0},
                {"currency": "usd"}, {"min_price": -1}):
        assert client.get(f"{API}/products", headers=h, params=bad).status_code == 422, bad
    hidden = client.get(f"{API}/products", headers=h, params={"q": "Pending lamp"}).json()
    assert hidden["total"] == 0


def test_suspended_seller_is_hidden_and_cannot_edit(client, market, db):
    shop = market.shop()
    product = market.product(shop)
    r = client.post(f"{API}/sellers/{shop.seller_id}/status", headers=market.support.headers,
                    json={"status": "suspended", "reason": "fraud report"})
    assert r.status_code == 200
    assert client.get(f"{API}/products/{product['id']}", headers=shop.headers).status_code == 404
    r = client.post(f"{API}/products", headers=shop.headers,
                    json={"sku": "N", "title": "t", "category": "c", "price_minor": 1,
                          "currency": "EUR", "stock": 1})
    assert r.status_code == 403 and r.json()["error"]["code"] == "seller_suspended"
    assert db.get(Seller, shop.seller_id).status_reason == "fraud report"
