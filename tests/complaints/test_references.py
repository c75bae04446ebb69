"""A ticket names only its customer's own orders and payments (issue 13, item 13): another
user's order or payment, or a missing one, is refused with the same 404 and nothing is
written. A support agent may open a ticket for a customer, with that customer's references
only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.complaints.models import Ticket, TicketEvent, TicketMessage
from api.goseller.models import Order
from tests.goseller.market import Market, skip_undelivered_order_messages

BASE = "/api/v1/complaints/tickets"


@pytest.fixture
def market(client, make_user, auth_headers):
    yield Market(client, make_user, auth_headers)
    skip_undelivered_order_messages()


@pytest.fixture
def sale(market, db):
    """A paid order of `buyer` from `shop`, with its payment intent."""
    shop, buyer = market.shop(), market.actor()
    product = market.product(shop, price_minor=1500)
    order_id = market.buy(buyer, shop, product)
    db.expire_all()
    payment_id = db.get(Order, order_id).payment_intent_id
    assert payment_id is not None
    return {"shop": shop, "buyer": buyer, "order_id": order_id, "payment_id": payment_id}


def _stored(db) -> tuple[int, int, int]:
    db.expire_all()
    return tuple(db.scalar(select(func.count()).select_from(t))
                 for t in (Ticket, TicketMessage, TicketEvent))


def _ticket(**over) -> dict:
    return {"subject": "Something is wrong", "body": "Please look at it.", "category": "order",
            **over}


def test_a_complaint_cannot_name_another_users_order_or_payment(client, market, sale, db):
    attacker = market.actor()
    before = _stored(db)
    for field, value, code in (("order_id", sale["order_id"], "order_not_found"),
                               ("payment_id", sale["payment_id"], "payment_not_found"),
                               ("order_id", 2**62, "order_not_found"),  # missing: same answer
                               ("payment_id", 2**62, "payment_not_found")):
        r = client.post(BASE, headers=attacker.headers, json=_ticket(**{field: value}))
        assert r.status_code == 404, r.text
        assert r.json()["error"]["code"] == code
        assert f"is not one of your {field.split('_')[0]}s" in r.json()["error"]["message"]
    assert _stored(db) == before

    # The parties may: the buyer names their order and payment, the seller the order sold.
    r = client.post(BASE, headers=sale["buyer"].headers,
                    json=_ticket(order_id=sale["order_id"], payment_id=sale["payment_id"]))
    assert r.status_code == 201, r.text
    assert (r.json()["order_id"], r.json()["payment_id"]) == (sale["order_id"], sale["payment_id"])
    r = client.post(BASE, headers=sale["shop"].headers,
                    json=_ticket(category="seller", order_id=sale["order_id"]))
    assert r.status_code == 201, r.text


def test_an_agent_acts_for_a_customer_with_that_customers_references_only(
        client, market, sale, db):
    agent, stranger = market.support, market.actor()
    buyer = sale["buyer"]
    other_order = market.buy(stranger, sale["shop"], market.product(sale["shop"]))
    before = _stored(db)
    refusals = (
        # an agent cannot attach someone else's order to the customer's ticket
        (agent.headers, {"customer_id": buyer.id, "order_id": other_order}, 404,
         "order_not_found"),
        (agent.headers, {"customer_id": 2**62}, 404, "customer_not_found"),
        # a customer cannot open a ticket in someone else's name
        (stranger.headers, {"customer_id": buyer.id, "order_id": sale["order_id"]}, 403,
         "agents_only"),
    )
    for headers, over, status, code in refusals:
        r = client.post(BASE, headers=headers, json=_ticket(**over))
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
    assert _stored(db) == before

    r = client.post(BASE, headers=agent.headers,
                    json=_ticket(customer_id=buyer.id, order_id=sale["order_id"],
                                 body="Customer called: the mug arrived broken."))
    assert r.status_code == 201, r.text
    ticket = r.json()
    assert ticket["customer_id"] == buyer.id and ticket["order_id"] == sale["order_id"]
    assert ticket["messages"][0]["author_role"] == "agent"
    # The customer owns it: they see it and may follow up.
    r = client.get(f"{BASE}/{ticket['id']}", headers=buyer.headers)
    assert r.status_code == 200 and r.json()["customer_id"] == buyer.id
    db.expire_all()
    opened = db.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket["id"],
                                                  TicketEvent.kind == "opened")).one()
    assert opened.actor_id == agent.id and opened.detail["on_behalf_of"] == buyer.id
