"""The rows the fuzz run starts from, made before it through the API and the service functions.

The database is fresh, so the first row of each kind has id 1: the id examples of the OpenAPI
document (`api.validation.Id`, example 1) then name rows that exist, in the state the
operations on them need (an order paid but not shipped, a franchise with a settled month, a
ticket, a report, a dashboard, an affiliate rule), and owned by the fuzz admin where the route
serves owners only. Dates are fixed: the same world on any day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from fastapi.testclient import TestClient

from tests.goseller.market import ADDRESS, Actor, Market, Shop

SETTLED_MONTH = date(2026, 1, 1)
DELIVERED_AT = datetime(2026, 1, 10, 12, tzinfo=UTC)
SETTLED_AT = datetime(2026, 3, 1, tzinfo=UTC)


@dataclass
class World:
    shop_id: int
    product_id: int
    paid_order_id: int
    settled_order_id: int
    franchise_id: int
    settlement_id: int
    ticket_id: int
    rule_id: int
    dashboard_id: int
    report_id: int


def _created(response, status: int = 201) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def build_world(app, admin, customer, make_user, auth_headers) -> World:
    from api.db import new_session
    from api.franchises import service as franchises

    client = TestClient(app, raise_server_exceptions=True)
    market = Market(client, make_user, auth_headers)
    admin_ = Actor(admin, auth_headers(admin))
    customer_ = Actor(customer, auth_headers(customer))

    # The admin keeps a verified shop, so the seller routes have an order of their own.
    seller = _created(client.post("/api/v1/goseller/sellers", headers=admin_.headers,
                                  json={"shop_name": "Fuzz admin's shop"}))
    _created(client.post(f"/api/v1/goseller/sellers/{seller['id']}/status",
                         headers=market.support.headers, json={"status": "verified"}), 200)
    shop = Shop(admin, admin_.headers, seller["id"])
    product = market.product(shop, sku="FUZZ-1", stock=1_000)
    # Order 1: paid, waiting for the shop to ship it.
    paid_order = market.buy(customer_, shop, product, 1)
    market.fund(admin.id, 100_000)  # the admin's own EUR wallet, for transfers and intents

    # Franchise 1, owned by the admin, claims the buyers' postal code; one month settled.
    franchise = _created(client.post("/api/v1/franchises", headers=market.support.headers, json={
        "owner_user_id": admin.id, "name": "Fuzz franchise", "share_basis": "gross",
        "share_bps": 1000}))
    _created(client.post(f"/api/v1/franchises/{franchise['id']}/territories",
                         headers=market.support.headers,
                         json={"name": "Fuzz territory", "country": ADDRESS["country"],
                               "postal_codes": [ADDRESS["postal_code"]]}))
    settled_order = market.buy(customer_, shop, product, 2, delivered_at=DELIVERED_AT,
                               paid_at=DELIVERED_AT)
    with new_session() as session:  # the service commits each statement itself
        settlement_id = franchises.settle_month(session, SETTLED_MONTH, now=SETTLED_AT)[0].id

    ticket = _created(client.post("/api/v1/complaints/tickets", headers=customer_.headers, json={
        "subject": "Where is my mug?", "body": "Ordered a week ago.", "category": "delivery"}))
    rule = _created(client.post("/api/v1/affiliates/rules", headers=admin_.headers, json={
        "category": "home", "currency": "EUR", "min_monthly_volume_minor": 0, "rate_bps": 500}))
    dashboard = _created(client.post("/api/v1/analytics/dashboards", headers=admin_.headers,
                                     json={"name": "Fuzz dashboard", "charts": ["users_by_role"]}))
    report = _created(client.post("/api/v1/reports", headers=admin_.headers, json={
        "name": "Fuzz report", "sql": "SELECT primary_role, count(*) AS users "
        "FROM marts.dim_users GROUP BY 1 ORDER BY 2 DESC"}))
    return World(shop.seller_id, product["id"], paid_order, settled_order, franchise["id"],
                 settlement_id, ticket["id"], rule["id"], dashboard["id"], report["id"])
