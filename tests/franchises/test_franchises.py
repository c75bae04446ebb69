"""Franchises: registration, exclusive territories enforced by the database (also under
concurrent claims), order attribution by delivery address, monthly settlement statements,
and a franchisee's view limited to their own territories and statements."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from api.core.errors import Conflict
from api.db import new_session, session_scope
from api.franchises import service
from api.franchises.models import OrderAttribution, PostalClaim, Settlement, Territory
from api.goseller import orders
from api.wallet import service as ledger
from api.wallet.models import LedgerAccount
from tests.goseller.market import set_fee_balance

API = "/api/v1/franchises"


def uniq_postal() -> str:
    return str(uuid.uuid4().int)[:5] + "X"


def new_franchise(client, market, basis="gross", bps=1000):
    owner = market.actor("franchisee")
    r = client.post(API, headers=market.support.headers,
                    json={"owner_user_id": owner.id, "name": f"F {uuid.uuid4().hex[:8]}",
                          "share_basis": basis, "share_bps": bps})
    assert r.status_code == 201, r.text
    return owner, r.json()


def add_territory(client, market, franchise_id, codes, exclusive=True, country="DE"):
    return client.post(f"{API}/{franchise_id}/territories", headers=market.support.headers,
                       json={"name": "T", "country": country, "region": "BE", "city": "Berlin",
                             "postal_codes": codes, "exclusive": exclusive})


def test_register_franchise_and_refusals(client, market):
    owner, franchise = new_franchise(client, market, "net", 1500)
    assert (franchise["share_basis"], franchise["share_bps"], franchise["status"]) == \
        ("net", 1500, "active")
    sup = market.support.headers
    customer = market.actor()
    r = client.post(API, headers=sup, json={"owner_user_id": customer.id, "name": "X",
                                            "share_basis": "gross", "share_bps": 1})
    assert r.status_code == 422 and r.json()["error"]["code"] == "owner_not_franchisee"
    r = client.post(API, headers=sup, json={"owner_user_id": 99999999, "name": "X",
                                            "share_basis": "gross", "share_bps": 1})
    assert r.status_code == 422
    r = client.post(API, headers=sup, json={"owner_user_id": owner.id, "name": franchise["name"],
                                            "share_basis": "gross", "share_bps": 1})
    assert r.status_code == 409
    for bad in ({"share_bps": 10_001}, {"share_bps": -1}, {"share_basis": "profit"},
                {"name": ""}):
        body = {"owner_user_id": owner.id, "name": "Y", "share_basis": "gross",
                "share_bps": 1} | bad
        assert client.post(API, headers=sup, json=body).status_code == 422, bad
    assert client.post(API, headers=owner.headers,
                       json={"owner_user_id": owner.id, "name": "Z", "share_basis": "gross",
                             "share_bps": 1}).status_code == 403
    r = client.patch(f"{API}/{franchise['id']}", headers=sup, json={"status": "suspended"})
    assert r.json()["status"] == "suspended"


def test_exclusive_territories_cannot_overlap_and_refusal_keeps_nothing(client, market, db):
    _, a = new_franchise(client, market)
    _, b = new_franchise(client, market)
    p1, p2, p3 = uniq_postal(), uniq_postal(), uniq_postal()
    r = add_territory(client, market, a["id"], [p1.lower(), p2])
    assert r.status_code == 201 and r.json()["postal_codes"] == sorted([p1, p2])
    territories_before = db.scalar(select(func.count()).select_from(Territory))
    r = add_territory(client, market, b["id"], [p3, p2])
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "territory_overlap" and err["details"]["postal_codes"] == [p2]
    assert db.scalar(select(func.count()).select_from(Territory)) == territories_before
    assert db.scalar(select(func.count()).select_from(PostalClaim)
                     .where(PostalClaim.postal_code == p3)) == 0
    # The same code in another country is another place; non-exclusive claims may share.
    assert add_territory(client, market, b["id"], [p2], country="AT").status_code == 201
    assert add_territory(client, market, b["id"], [p2], exclusive=False).status_code == 201
    for bad in ([], ["!"], None):
        assert add_territory(client, market, b["id"], bad).status_code == 422
    assert add_territory(client, market, 99999999, [uniq_postal()]).status_code == 404


def test_concurrent_overlapping_exclusive_claims_one_wins(client, market, db):
    franchises = [new_franchise(client, market)[1] for _ in range(6)]
    shared = uniq_postal()
    own = [uniq_postal() for _ in franchises]
    barrier = threading.Barrier(len(franchises))
    results: list = [None] * len(franchises)

    def claim(i: int) -> None:
        with new_session() as s:
            barrier.wait()
            try:
                results[i] = service.add_territory(
                    s, franchises[i]["id"], name="race", country="DE", region=None, city=None,
                    postal_codes=[own[i], shared], exclusive=True).id
            except Conflict as exc:
                results[i] = exc

    threads = [threading.Thread(target=claim, args=(i,)) for i in range(len(franchises))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    winners = [r for r in results if isinstance(r, int)]
    assert len(winners) == 1, results
    assert all(isinstance(r, Conflict) for r in results if not isinstance(r, int))
    holders = db.scalars(select(PostalClaim.territory_id).where(
        PostalClaim.postal_code == shared, PostalClaim.exclusive.is_(True))).all()
    assert holders == winners
    # Losers kept nothing: only the winner's own code is claimed.
    claimed_own = db.scalars(select(PostalClaim.postal_code).where(
        PostalClaim.postal_code.in_(own))).all()
    assert len(claimed_own) == 1


def test_orders_attributed_by_delivery_address(client, market, db):
    _, excl = new_franchise(client, market)
    _, shared = new_franchise(client, market)
    code, loose = uniq_postal(), uniq_postal()
    assert add_territory(client, market, shared["id"], [code, loose],
                         exclusive=False).status_code == 201
    territory = add_territory(client, market, excl["id"], [code]).json()
    shop = market.shop()
    product = market.product(shop, stock=20)
    buyer = market.actor()
    in_excl = market.buy(buyer, shop, product, 1, paid=False, postal_code=code.lower())
    in_loose = market.buy(buyer, shop, product, 1, paid=False, postal_code=loose)
    abroad = market.buy(buyer, shop, product, 1, paid=False, postal_code=code, country="FR")
    nowhere = market.buy(buyer, shop, product, 1, paid=False, postal_code=uniq_postal())
    got = {a.order_id: (a.franchise_id, a.territory_id) for a in db.scalars(
        select(OrderAttribution).where(OrderAttribution.order_id.in_(
            [in_excl, in_loose, abroad, nowhere])))}
    assert got[in_excl] == (excl["id"], territory["id"])  # exclusive beats non-exclusive
    assert got[in_loose][0] == shared["id"]
    assert abroad not in got and nowhere not in got


def _two_months_ago() -> date:
    today = datetime.now(UTC).date()
    month = today.month - 2
    return date(today.year + (month - 1) // 12, (month - 1) % 12 + 1, 1)


def test_monthly_settlement_statements_and_scoping(client, market, db):
    owner_a, a = new_franchise(client, market, "gross", 1000)
    owner_b, b = new_franchise(client, market, "net", 2000)
    code_a, code_b = uniq_postal(), uniq_postal()
    add_territory(client, market, a["id"], [code_a])
    add_territory(client, market, b["id"], [code_b])
    shop = market.shop()
    product = market.product(shop, price_minor=1000, stock=50)
    buyer = market.actor()
    period = _two_months_ago()
    in_month = datetime(period.year, period.month, 3, 12, tzinfo=UTC)
    a1 = market.buy(buyer, shop, product, 2, delivered_at=in_month, postal_code=code_a)
    a2 = market.buy(buyer, shop, product, 3, delivered_at=in_month, postal_code=code_a)
    a_returned = market.buy(buyer, shop, product, 1, delivered_at=in_month, postal_code=code_a)
    with session_scope() as s:
        orders.return_order(s, buyer.id, a_returned, now=in_month + timedelta(days=1))
    b1 = market.buy(buyer, shop, product, 4, delivered_at=in_month, postal_code=code_b)
    later = market.buy(buyer, shop, product, 1, delivered_at=datetime.now(UTC),
                       postal_code=code_a)

    set_fee_balance(50_000)  # platform revenue the shares are paid from
    sup = market.support.headers
    r = client.post(f"{API}/settlements/run", headers=sup,
                    json={"period": f"{period:%Y-%m}"})
    assert r.status_code == 200, r.text
    mine = {s["franchise_id"]: s for s in r.json() if s["franchise_id"] in (a["id"], b["id"])}
    sa, sb = mine[a["id"]], mine[b["id"]]
    # A: gross 2000 + 3000 at 10 % = 500; the returned order is not in it.
    assert (sa["order_count"], sa["gross_minor"], sa["net_minor"], sa["share_minor"]) == \
        (2, 5000, 4500, 500)
    assert sorted(line["order_id"] for line in sa["lines"]) == sorted([a1, a2])
    # B: net of 4000 (fee 400) = 3600 at 20 % = 720.
    assert (sb["order_count"], sb["gross_minor"], sb["net_minor"], sb["share_minor"]) == \
        (1, 4000, 3600, 720)
    assert sa["status"] == sb["status"] == "posted"
    db.expire_all()
    assert ledger.owned_account(db, owner_a.id, "EUR", create=False).balance == 500
    assert ledger.owned_account(db, owner_b.id, "EUR", create=False).balance == 720
    assert fee_balance(db) == 50_000 - 500 - 720
    assert later not in [line["order_id"] for line in sa["lines"]]
    # A rerun creates no second statement.
    r = client.post(f"{API}/settlements/run", headers=sup, json={"period": f"{period:%Y-%m}"})
    assert not [s for s in r.json() if s["franchise_id"] in (a["id"], b["id"])]

    # A franchisee sees only their own.
    mine_a = client.get(f"{API}/me/statements", headers=owner_a.headers).json()
    assert [s["id"] for s in mine_a] == [sa["id"]]
    assert client.get(f"{API}/me/statements/{sb['id']}", headers=owner_a.headers).status_code \
        == 404
    detail = client.get(f"{API}/me/statements/{sa['id']}", headers=owner_a.headers).json()
    assert sum(line["share_minor"] for line in detail["lines"]) == detail["share_minor"]
    terr = client.get(f"{API}/me/territories", headers=owner_b.headers).json()
    assert [t["postal_codes"] for t in terr] == [[code_b]]
    assert [f["id"] for f in client.get(f"{API}/me", headers=owner_b.headers).json()] == \
        [b["id"]]
    assert client.get(f"{API}/settlements", headers=owner_a.headers).status_code == 403
    assert client.get(f"{API}/{a['id']}/territories", headers=owner_a.headers).status_code == 403

    r = client.post(f"{API}/settlements/run", headers=sup,
                    json={"period": f"{datetime.now(UTC):%Y-%m}"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "period_open"
    for bad in ("2026-13", "2026-1", "x"):
        assert client.post(f"{API}/settlements/run", headers=sup,
                           json={"period": bad}).status_code == 422


def test_concurrent_settlement_runs_make_one_statement(client, market, db):
    _, f = new_franchise(client, market)
    code = uniq_postal()
    add_territory(client, market, f["id"], [code])
    shop = market.shop()
    product = market.product(shop, price_minor=100, stock=10)
    period = _two_months_ago()
    at = datetime(period.year, period.month, 20, tzinfo=UTC)
    for _ in range(3):
        market.buy(market.actor(), shop, product, 1, delivered_at=at, postal_code=code)
    barrier = threading.Barrier(3)
    errors: list = []

    def run() -> None:
        with new_session() as s:
            barrier.wait()
            try:
                service.settle_month(s, period)
            except Exception as exc:  # noqa: BLE001 - asserted below
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    rows = db.scalars(select(Settlement).where(Settlement.franchise_id == f["id"])).all()
    assert len(rows) == 1 and rows[0].order_count == 3 and rows[0].share_minor == 30


def fee_balance(db) -> int:
    db.expire_all()
    return db.scalar(select(LedgerAccount.balance).where(LedgerAccount.code == "system:fees:EUR"))


def test_statement_awaits_the_ledger_until_fees_can_cover_it(client, market, db):
    owner, f = new_franchise(client, market, "gross", 5000)
    code = uniq_postal()
    add_territory(client, market, f["id"], [code])
    shop = market.shop()
    product = market.product(shop, price_minor=1000)
    period = _two_months_ago()
    market.buy(market.actor(), shop, product, 1,
               delivered_at=datetime(period.year, period.month, 25, tzinfo=UTC),
               postal_code=code)
    set_fee_balance(0)
    with new_session() as s:
        made = [x for x in service.settle_month(s, period) if x.franchise_id == f["id"]]
    assert [(x.share_minor, x.status) for x in made] == [(500, "awaiting_ledger")]
    assert ledger.owned_account(db, owner.id, "EUR", create=False) is None
    set_fee_balance(600)
    with new_session() as s:
        assert service.post_awaiting(s) >= 1
    db.expire_all()
    assert db.get(Settlement, made[0].id).status == "posted"
    assert ledger.owned_account(db, owner.id, "EUR", create=False).balance == 500
    assert fee_balance(db) == 100
