"""Affiliates: registration and approval, referral codes, first-touch attribution, commission
rules and tiers, the commission life cycle, scoping, duplicate-commission races."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from api.affiliates import service
from api.affiliates.models import Commission, CommissionRule
from api.db import new_session, session_scope
from api.goseller import orders
from api.goseller.models import Order
from api.wallet import service as ledger
from tests.goseller.market import set_fee_balance

API = "/api/v1/affiliates"


@pytest.fixture(autouse=True)
def eur_rules(database_url):
    """Rules are global: each test starts from the same EUR set."""
    with session_scope() as s:
        s.execute(delete(CommissionRule))
        s.add_all([CommissionRule(category="*", currency="EUR", min_monthly_volume_minor=0,
                                  rate_bps=500),
                   CommissionRule(category="*", currency="EUR",
                                  min_monthly_volume_minor=10_000, rate_bps=800),
                   CommissionRule(category="books", currency="EUR", min_monthly_volume_minor=0,
                                  rate_bps=1000)])


def approved_affiliate(client, market):
    aff = market.actor("affiliate")
    r = client.post(API, headers=aff.headers, json={"website": "https://blog.example"})
    assert r.status_code == 201, r.text
    body = r.json()
    r = client.post(f"{API}/{body['id']}/status", headers=market.support.headers,
                    json={"status": "approved"})
    assert r.status_code == 200
    return aff, body["code"]


def touch(client, actor, code):
    return client.post(f"{API}/touches", headers=actor.headers, json={"code": code})


def test_registration_code_link_and_approval(client, market):
    aff = market.actor("affiliate")
    r = client.post(API, headers=aff.headers, json={})
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "pending" and len(body["code"]) == 8
    assert body["link"].endswith("/r/" + body["code"])
    assert client.post(API, headers=aff.headers, json={}).status_code == 409
    assert client.post(API, headers=market.actor().headers, json={}).status_code == 403
    assert client.post(API, headers=aff.headers,
                       json={"website": "javascript:alert(1)"}).status_code == 422
    # A pending affiliate's code attributes nothing.
    buyer = market.actor()
    assert touch(client, buyer, body["code"]).status_code == 404
    sup = market.support.headers
    r = client.post(f"{API}/{body['id']}/status", headers=sup, json={"status": "rejected"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "reason_required"
    assert client.post(f"{API}/{body['id']}/status", headers=aff.headers,
                       json={"status": "approved"}).status_code == 403
    r = client.post(f"{API}/{body['id']}/status", headers=sup, json={"status": "approved"})
    assert r.json()["status"] == "approved" and r.json()["approved_at"]
    assert client.get(f"{API}/me", headers=aff.headers).json()["status"] == "approved"
    assert touch(client, buyer, body["code"].lower()).status_code == 201


def test_first_touch_wins_within_window(client, market):
    (a, code_a), (b, code_b) = approved_affiliate(client, market), approved_affiliate(client, market)
    buyer = market.actor()
    first = touch(client, buyer, code_a).json()
    second = touch(client, buyer, code_b).json()
    assert second["affiliate_id"] == first["affiliate_id"]
    assert second["first_touch_at"] == first["first_touch_at"]
    assert touch(client, a, code_a).json()["error"]["code"] == "self_referral"
    assert touch(client, buyer, "NOPE1234").status_code == 404
    assert touch(client, buyer, "bad code!").status_code == 422
    # Once the window has passed, a new touch starts a new attribution.
    late = market.actor()
    with session_scope() as s:
        service.record_touch(s, late.id, code_a, now=datetime.now(UTC) - timedelta(days=31))
    renewed = touch(client, late, code_b).json()
    assert renewed["affiliate_id"] == client.get(f"{API}/me", headers=b.headers).json()["id"]
    assert renewed["affiliate_id"] != first["affiliate_id"]
    ids_b = [r["referred_user_id"] for r in
             client.get(f"{API}/me/referrals", headers=b.headers).json()]
    ids_a = [r["referred_user_id"] for r in
             client.get(f"{API}/me/referrals", headers=a.headers).json()]
    assert late.id in ids_b and late.id not in ids_a
    assert buyer.id in ids_a and buyer.id not in ids_b


def test_signup_attribution_inside_registration_transaction(client, market):
    aff, code = approved_affiliate(client, market)
    user = market.actor()
    with session_scope() as s:
        referral = service.attribute_signup(s, user.id, code)
        assert referral.kind == "signup"
    # Through the API: a touch soon after the account was created is a sign-up, a touch
    # by an account older than the grace period a visit.
    fresh, old = market.actor(), market.actor()
    assert touch(client, fresh, code).json()["kind"] == "signup"
    with session_scope() as s:
        later = service.record_touch(s, old.id, code, now=datetime.now(UTC) + timedelta(days=2))
        assert later.kind == "visit"
    listed = client.get(f"{API}/me/referrals", headers=aff.headers).json()
    assert sorted((r["referred_user_id"], r["kind"]) for r in listed) == sorted(
        [(user.id, "signup"), (fresh.id, "signup"), (old.id, "visit")])


def test_commission_rates_by_category_and_tier_then_life_cycle(client, market, db):
    aff, code = approved_affiliate(client, market)
    other_aff, _ = approved_affiliate(client, market)
    shop = market.shop()
    mug = market.product(shop, category="home", price_minor=1000, stock=50)
    book = market.product(shop, category="books", price_minor=500, stock=50)
    buyer = market.actor()
    assert touch(client, buyer, code).status_code == 201

    market.cart(buyer, mug["id"], 2)
    cart = market.cart(buyer, book["id"], 1)
    market.place(buyer, cart["id"])
    market.pay(cart["id"])
    commissions = client.get(f"{API}/me/commissions", headers=aff.headers).json()
    assert len(commissions) == 1
    first = commissions[0]
    # home: 2000 at 5 % = 100; books: 500 at 10 % = 50.
    assert (first["commission_minor"], first["status"], first["order_amount_minor"]) == \
        (150, "pending", 2500)
    assert {b["category"]: b["rate_bps"] for b in first["breakdown"]} == {"home": 500,
                                                                         "books": 1000}
    # Volume this month reaches 10 000: the '*' tier rises to 8 %, books keep their own rule.
    big = market.buy(buyer, shop, mug, 8)  # 8000 at 5 %: volume before it was 2500
    tiered = market.buy(buyer, shop, mug, 1)  # volume 10 500 → 8 %
    by_order = {c["order_id"]: c for c in
                client.get(f"{API}/me/commissions", headers=aff.headers).json()}
    assert by_order[big]["commission_minor"] == 400
    assert by_order[tiered]["commission_minor"] == 80

    # Another affiliate sees none of it; a buyer without referral earns nobody anything.
    assert client.get(f"{API}/me/commissions", headers=other_aff.headers).json() == []
    assert client.get(f"{API}/me/conversions", headers=other_aff.headers).json() == []
    stranger_order = market.buy(market.actor(), shop, mug, 1)
    assert db.scalar(select(func.count()).select_from(Commission)
                     .where(Commission.order_id == stranger_order)) == 0

    conversions = client.get(f"{API}/me/conversions", headers=aff.headers).json()
    assert sorted(c["order_id"] for c in conversions) == sorted([cart["id"], big, tiered])
    summary = client.get(f"{API}/me/summary", headers=aff.headers).json()
    assert summary["referrals"] == 1
    assert summary["commissions"] == [{"currency": "EUR", "status": "pending", "count": 3,
                                       "amount_minor": 630}]


def test_pending_approved_paid_and_reversals(client, market, db):
    aff, code = approved_affiliate(client, market)
    shop = market.shop()
    mug = market.product(shop, category="home", price_minor=2000, stock=50)
    buyer = market.actor()
    touch(client, buyer, code)
    now = datetime.now(UTC)
    settled = market.buy(buyer, shop, mug, 1, delivered_at=now - timedelta(days=16))
    recent = market.buy(buyer, shop, mug, 1, delivered_at=now - timedelta(days=1))
    canceled = market.buy(buyer, shop, mug, 1)
    assert client.post(f"/api/v1/goseller/orders/{recent}/return", headers=buyer.headers,
                       json={}).status_code == 200
    assert client.post(f"/api/v1/goseller/orders/{canceled}/cancel", headers=buyer.headers,
                       json={}).status_code == 200
    with new_session() as s:
        assert service.approve_due(s) >= 1
    statuses = {c["order_id"]: c["status"] for c in
                client.get(f"{API}/me/commissions", headers=aff.headers).json()}
    assert statuses == {settled: "approved", recent: "reversed", canceled: "reversed"}
    # Paying moves the commission from the platform's fee account to the affiliate's wallet.
    with new_session() as s:
        orders.run_payouts(s)  # the order's platform fee reaches the fee account first
        fees = ledger.system_account(s, "fees", "EUR")
        s.commit()
    db.expire_all()
    fees_before = db.get(type(fees), fees.id).balance
    r = client.post(f"{API}/commissions/run", headers=market.support.headers)
    assert r.status_code == 200 and r.json()["paid"] >= 1
    db.expire_all()
    row = db.scalar(select(Commission).where(Commission.order_id == settled))
    assert (row.status, row.commission_minor) == ("paid", 100)
    assert row.ledger_ref.startswith("wallet_tx:") and row.paid_at is not None
    assert ledger.owned_account(db, aff.id, "EUR", create=False).balance == 100
    assert db.get(type(fees), fees.id).balance == fees_before - sum(
        c.commission_minor for c in db.scalars(select(Commission).where(
            Commission.paid_at == row.paid_at)))
    with new_session() as s:  # paying again finds nothing: no second credit
        service.pay_approved(s)
    db.expire_all()
    assert ledger.owned_account(db, aff.id, "EUR", create=False).balance == 100
    assert client.post(f"{API}/commissions/run", headers=aff.headers).status_code == 403


def test_no_duplicate_commission_per_order_under_races(client, market, db):
    aff, code = approved_affiliate(client, market)
    shop = market.shop()
    mug = market.product(shop, category="home", price_minor=1000)
    buyer = market.actor()
    touch(client, buyer, code)
    order_id = market.buy(buyer, shop, mug, 1)  # the paid event already recorded one
    barrier = threading.Barrier(6)
    outcomes = []

    def again() -> None:
        with new_session() as s:
            order = s.get(Order, order_id)
            barrier.wait()
            outcomes.append(service.record_commission(s, order, datetime.now(UTC)))
            s.commit()

    threads = [threading.Thread(target=again) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert outcomes == [None] * 6
    # A second payment attempt is refused by the order's state and adds nothing either.
    r = client.post(f"/api/v1/goseller/orders/{order_id}/pay", headers=buyer.headers)
    assert r.status_code == 409
    assert db.scalar(select(func.count()).select_from(Commission)
                     .where(Commission.order_id == order_id)) == 1
    existing = db.scalar(select(Commission).where(Commission.order_id == order_id))
    db.add(Commission(affiliate_id=existing.affiliate_id, referral_id=existing.referral_id,
                      order_id=order_id, period=existing.period, currency="EUR",
                      order_amount_minor=1000, commission_minor=1))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_concurrent_first_payments_of_fresh_orders_record_one_each(client, market, db):
    """Two different orders paid at once by one affiliate's referrals: both recorded, and the
    volume tier is computed serially (affiliate row lock)."""
    aff, code = approved_affiliate(client, market)
    shop = market.shop()
    mug = market.product(shop, category="home", price_minor=12_000, stock=10)
    buyers = [market.actor() for _ in range(2)]
    ids = []
    for b in buyers:
        touch(client, b, code)
        ids.append(market.buy(b, shop, mug, 1, paid=False))
    barrier = threading.Barrier(2)

    def pay(i: int) -> None:
        barrier.wait()
        market.pay(ids[i])

    threads = [threading.Thread(target=pay, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    amounts = sorted(c["commission_minor"] for c in
                     client.get(f"{API}/me/commissions", headers=aff.headers).json())
    # Whichever is first sees volume 0 (5 % = 600); the other sees 12 000 (8 % = 960).
    assert amounts == [600, 960]


def test_ledger_refusal_leaves_commission_approved_until_it_can_be_paid(client, market, db):
    aff, code = approved_affiliate(client, market)
    shop = market.shop()
    mug = market.product(shop, category="home", price_minor=4000)
    buyer = market.actor()
    touch(client, buyer, code)
    order_id = market.buy(buyer, shop, mug, 1,
                          delivered_at=datetime.now(UTC) - timedelta(days=20))
    with new_session() as s:
        service.approve_due(s)
    set_fee_balance(0)  # the platform has no fee revenue to pay commissions from
    with new_session() as s:
        result = service.pay_approved(s)
    assert result["paid"] == 0 and result["awaiting_ledger"] >= 1
    db.expire_all()
    row = db.scalar(select(Commission).where(Commission.order_id == order_id))
    assert (row.status, row.ledger_ref, row.commission_minor) == ("approved", None, 200)
    assert ledger.owned_account(db, aff.id, "EUR", create=False) is None  # nothing moved
    set_fee_balance(10_000)
    with new_session() as s:
        service.pay_approved(s)
    db.expire_all()
    assert db.get(Commission, row.id).status == "paid"
    assert ledger.owned_account(db, aff.id, "EUR", create=False).balance == 200


def test_registration_with_a_referral_code_is_attributed_as_a_signup(client, db, make_user):
    from sqlalchemy import func, select

    from api.affiliates.models import Referral
    from api.affiliates.service import register_affiliate, set_affiliate_status
    from api.auth.models import User

    owner, _ = make_user(roles=["affiliate"])
    admin, _ = make_user(roles=["admin"])
    affiliate = register_affiliate(db, owner.id)
    set_affiliate_status(db, affiliate.id, "approved", admin.id)
    email = f"referred-{affiliate.code.lower()}@example.com"
    r = client.post("/api/v1/auth/register", json={
        "email": email, "password": "a long enough passphrase", "referral_code": affiliate.code})
    assert r.status_code == 202, r.text
    new_user = db.scalar(select(User.id).where(User.email == email))
    referral = db.scalar(select(Referral).where(Referral.referred_user_id == new_user))
    assert referral.affiliate_id == affiliate.id and referral.kind == "signup"

    # An unknown code refuses the registration and keeps nothing.
    other = f"nobody-{affiliate.code.lower()}@example.com"
    r = client.post("/api/v1/auth/register", json={
        "email": other, "password": "a long enough passphrase", "referral_code": "NOSUCHCODE"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_referral_code"
    assert db.scalar(select(func.count()).select_from(User).where(User.email == other)) == 0
