"""The whole pipeline materialized in-process against the real PostgreSQL and a temporary
warehouse: simulate, ingest, validate, dbt build, publish; then a bad row, then its fix."""

from __future__ import annotations

import threading

import dagster as dg
import pytest

from tests.clock import SIM_END
from tests.pipelines.conftest import pg_exec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def _run(full=False, raw_tables=None):
    from pipelines.run import run_pipeline

    return run_pipeline(full=full, instance=dg.DagsterInstance.ephemeral(),
                        raw_tables=raw_tables)


def _materialized(result) -> set[str]:
    return {e.asset_key.to_user_string() for e in result.all_events
            if e.event_type_value == "ASSET_MATERIALIZATION"}


def _checks(result) -> dict[tuple[str, str], object]:
    out = {}
    for e in result.all_events:
        if e.event_type_value == "ASSET_CHECK_EVALUATION":
            ev = e.event_specific_data
            out[(ev.asset_key.to_user_string(), ev.check_name)] = ev
    return out


def _payments_through_services():
    """Top-ups by card, one declined, one partly refunded (the simulator's mix is random)."""
    from api.db import new_session
    from api.payments import service as payments
    from api.wallet import service as wallet
    from tests.pipelines.conftest import new_user

    user = new_user()
    with new_session() as session:  # the services commit their own units of work
        wallet.open_wallet(session, user.id, "EUR")
        session.commit()
        for number, amount, refund in (("4242424242424242", 12345, 2345),
                                       ("4242424242424242", 999, None),
                                       ("4000000000000002", 5000, None)):
            card = payments.add_card(session, user.id, number, 12, 2030)
            intent = payments.create_intent(session, user_id=user.id, amount=amount,
                                            currency="EUR")
            payments.confirm(session, intent, card.id)
            session.commit()
            if refund:
                payments.refund(session, intent, refund, reason="test")
                session.commit()


# (qty, unit price, what happens after placing): GMV, fees and refunds are known to the cent.
ORDER_PLAN = ((2, 1999, "paid"), (1, 4550, "delivered"), (3, 333, "returned"),
              (1, 12001, "canceled_paid"), (1, 250, "canceled_placed"), (2, 777, "delivered"))


def _orders_through_services():
    """A verified shop, an approved affiliate who referred the buyer, a franchise territory
    covering the delivery address; orders placed, paid by card, delivered, returned, canceled
    through the GoSeller service functions. Returns the seller id and the expected totals."""
    import uuid

    from api.affiliates import service as affiliates
    from api.db import new_session
    from api.franchises import service as franchises
    from api.goseller import orders, service as goseller
    from api.payments import service as payments
    from tests.pipelines.conftest import new_user

    owner, buyer = new_user(roles=["seller"]), new_user()
    partner, franchisee, admin = new_user(), new_user(roles=["franchisee"]), new_user(roles=["admin"])
    postal = f"P{uuid.uuid4().hex[:8].upper()}"
    address = orders.Address("Ada", "Main 1", "Berlin", None, postal, "DE")
    with new_session() as s:
        seller = goseller.register_seller(s, owner.id, "pipeline shop")
        goseller.set_seller_status(s, seller.id, "verified", admin.id)
        affiliate = affiliates.register_affiliate(s, partner.id)
        affiliates.set_affiliate_status(s, affiliate.id, "approved", admin.id)
        if not any((r.category, r.currency, r.min_monthly_volume_minor) == ("*", "EUR", 0)
                   for r in affiliates.list_rules(s)):  # other suites may have made it
            affiliates.create_rule(s, category="*", currency="EUR", min_monthly_volume_minor=0,
                                   rate_bps=750)
        affiliates.record_touch(s, buyer.id, affiliate.code)
        franchise = franchises.register_franchise(s, owner_user_id=franchisee.id,
                                                  name=f"fr-{postal}", share_basis="net",
                                                  share_bps=1200, actor_id=admin.id)
        franchises.add_territory(s, franchise.id, name="Mitte", country="DE", region=None,
                                 city="Berlin", postal_codes=[postal], exclusive=True)
        card = payments.add_card(s, buyer.id, "4242424242424242", 12, 2031).id
        seller_id, expected = seller.id, {"gmv": 0, "refunded": 0, "paid": 0}
        for qty, price, fate in ORDER_PLAN:
            product = goseller.create_product(s, owner.id, sku=f"SKU-{uuid.uuid4().hex[:8]}",
                                              title="Mug", category="home", price_minor=price,
                                              currency="EUR", stock=10)
            order = orders.set_cart_item(s, buyer.id, product.id, qty)
            orders.place_order(s, buyer.id, order.id, address)
            if fate == "canceled_placed":
                orders.cancel_by_buyer(s, buyer.id, order.id, "changed my mind")
                continue
            orders.pay_order(s, buyer.id, order.id, payment_method_id=card)
            expected["gmv"] += qty * price
            expected["paid"] += 1
            if fate == "canceled_paid":
                orders.cancel_by_seller(s, owner.id, order.id, "out of ink")
                expected["refunded"] += qty * price
            elif fate in ("delivered", "returned"):
                orders.fulfill_order(s, owner.id, order.id)
                orders.deliver_order(s, owner.id, order.id)
                if fate == "returned":
                    orders.return_order(s, buyer.id, order.id, "broken")
                    expected["refunded"] += qty * price
    return seller_id, expected


@pytest.fixture(scope="module")
def marketplace(database_url):
    return _orders_through_services()


@pytest.fixture(scope="module")
def first_run(marketplace, warehouse_dir, database_url):
    from api.db import new_session
    from api.simulator.engine import run

    run(days=21, users=25, seed=1021, end=SIM_END, session_factory=new_session)
    _payments_through_services()
    result = _run(full=True)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result


def test_everything_materializes_with_checks(first_run, warehouse_dir):
    done = _materialized(first_run)
    for key in ("raw/users", "raw/security_events", "staging/stg_ehb__users",
                "marts/dim_users", "marts/fct_login_failures_daily", "serving/warehouse_snapshot"):
        assert key in done
    checks = _checks(first_run)
    assert checks[("raw/users", "gx_suite")].passed
    assert checks[("raw/users", "reconcile_daily")].passed
    assert checks[("marts/dim_users", "unique_dim_users_user_id")].passed
    assert (warehouse_dir / "snapshot.duckdb").exists()


def test_marts_equal_independent_sql_over_postgres(first_run, database_url):
    from pipelines.snapshot import query

    expected = pg_exec(database_url, """
        SELECT (created_at AT TIME ZONE 'UTC')::date, count(*), count(email_verified_at),
               sum(count(*)) OVER (ORDER BY (created_at AT TIME ZONE 'UTC')::date)::bigint
        FROM users GROUP BY 1 ORDER BY 1""")
    got = query("SELECT signup_date, new_users, verified_users, cumulative_users "
                "FROM marts.fct_signups_daily ORDER BY 1")
    assert got == [tuple(r) for r in expected]
    n_users = pg_exec(database_url, "SELECT count(*) FROM users")[0][0]
    assert query("SELECT count(*) FROM marts.dim_users") == [(n_users,)]


def test_finance_marts_equal_postgres_to_the_cent(first_run, database_url):
    from pipelines.snapshot import query

    expected = pg_exec(database_url, """
        SELECT (created_at AT TIME ZONE 'UTC')::date, currency, count(*),
               count(*) FILTER (WHERE status = 'succeeded'),
               count(*) FILTER (WHERE status = 'failed'),
               coalesce(sum(amount_captured) FILTER (WHERE payee_user_id IS NULL), 0)::bigint,
               coalesce(sum(amount_captured) FILTER (WHERE payee_user_id IS NOT NULL), 0)::bigint,
               sum(amount_refunded)::bigint, sum(fee_amount)::bigint
        FROM payment_intents GROUP BY 1, 2 ORDER BY 1, 2""")
    assert sum(r[5] for r in expected) >= 12345 + 999 and sum(r[7] for r in expected) >= 2345
    got = query("SELECT payment_date, currency, intents, succeeded, failed, topup_captured, "
                "purchase_captured, refunded, fees FROM marts.fct_payments_daily ORDER BY 1, 2")
    assert got == [tuple(r) for r in expected]
    ledger = pg_exec(database_url, """
        SELECT currency, sum(amount) FILTER (WHERE amount > 0)::bigint, count(DISTINCT transaction_id)
        FROM wallet_entries GROUP BY 1 ORDER BY 1""")
    assert query("SELECT currency, sum(volume)::bigint, sum(transactions)::bigint "
                 "FROM marts.fct_ledger_daily GROUP BY 1 ORDER BY 1") == [tuple(r) for r in ledger]
    assert query("SELECT count(*) FROM marts.wallet_balances WHERE NOT is_reconciled") == [(0,)]
    checks = _checks(first_run)
    assert checks[("raw/wallet_entries", "gx_suite")].passed  # sums to zero per transaction
    assert checks[("raw/wallet_entries", "reconcile_daily")].passed
    assert checks[("raw/payment_intents", "reconcile_daily")].passed


def test_bad_row_quarantined_blocks_its_marts_until_fixed(first_run, database_url):
    from pipelines.snapshot import connect, query

    bad_id = pg_exec(database_url, """
        INSERT INTO users (email, display_name, password_hash, roles, is_active)
        VALUES ('no-at-sign.example.com', 'Bad', 'x', '{customer}', true) RETURNING id""")[0][0]
    # keep reading the published snapshot while a full build rebuilds and republishes it
    errors, reads, stop = [], [0], threading.Event()

    def reader():
        while not stop.is_set():
            try:
                with connect() as con:
                    con.execute("SELECT count(*) FROM marts.dim_users").fetchone()
                reads[0] += 1
            except Exception as exc:  # any lock or read error fails the test
                errors.append(repr(exc))

    thread = threading.Thread(target=reader)
    thread.start()
    try:
        result = _run(full=True, raw_tables=["users"])
    finally:
        stop.set()
        thread.join()
    assert errors == [] and reads[0] > 10
    gx = _checks(result)[("raw/users", "gx_suite")]
    assert not gx.passed
    assert gx.metadata["quarantined_this_batch"].value == 1
    done = _materialized(result)
    assert "raw/users" in done  # the row is in raw (warehouse = source) ...
    assert "marts/dim_users" not in done  # ... but the marts it reaches are not rebuilt
    assert "marts/fct_signups_daily" not in done
    assert "marts/fct_security_events_daily" in done  # unrelated marts still are
    assert "serving/warehouse_snapshot" in done
    assert query("SELECT count(*) FROM marts.dim_users WHERE user_id = ?", [bad_id]) == [(0,)]
    with connect() as con:
        q = con.execute("SELECT expectation, row_pk FROM ops.quarantine "
                        "WHERE table_name = 'users'").fetchall()
    assert ("match(email)", str(bad_id)) in q

    # the source is corrected: the row passes, the marts build again and include it
    pg_exec(database_url, f"UPDATE users SET email = 'fixed-{bad_id}@example.com' WHERE id = {bad_id}")
    result = _run(raw_tables=["users"])
    assert _checks(result)[("raw/users", "gx_suite")].passed
    assert "marts/dim_users" in _materialized(result)
    assert query("SELECT email_domain FROM marts.dim_users WHERE user_id = ?",
                 [bad_id]) == [("example.com",)]


def test_marketplace_marts_equal_postgres_to_the_cent(first_run, marketplace, database_url):
    from pipelines.snapshot import query

    seller_id, plan = marketplace
    # Independent of the mart: one aggregate per event kind, joined on the (day, currency,
    # seller) keys any of them produced.
    expected = pg_exec(database_url, """
        WITH o AS (SELECT * FROM goseller_orders WHERE placed_at IS NOT NULL),
        placed AS (SELECT (placed_at AT TIME ZONE 'UTC')::date d, currency, seller_id, count(*) n
                   FROM o GROUP BY 1, 2, 3),
        paid AS (SELECT (paid_at AT TIME ZONE 'UTC')::date d, currency, seller_id, count(*) n,
                        sum(subtotal_minor) gmv, sum(platform_fee_minor) fee
                 FROM o WHERE paid_at IS NOT NULL GROUP BY 1, 2, 3),
        canceled AS (SELECT (canceled_at AT TIME ZONE 'UTC')::date d, currency, seller_id,
                            count(*) n, sum(refunded_minor) refunded
                     FROM o WHERE canceled_at IS NOT NULL GROUP BY 1, 2, 3),
        returned AS (SELECT (returned_at AT TIME ZONE 'UTC')::date d, currency, seller_id,
                            count(*) n, sum(refunded_minor) refunded
                     FROM o WHERE returned_at IS NOT NULL GROUP BY 1, 2, 3),
        k AS (SELECT d, currency, seller_id FROM placed UNION SELECT d, currency, seller_id FROM paid
              UNION SELECT d, currency, seller_id FROM canceled
              UNION SELECT d, currency, seller_id FROM returned)
        SELECT k.d, k.currency, k.seller_id, s.user_id, coalesce(placed.n, 0), coalesce(paid.n, 0),
               coalesce(canceled.n, 0), coalesce(returned.n, 0), coalesce(paid.gmv, 0)::bigint,
               coalesce(paid.fee, 0)::bigint,
               (coalesce(canceled.refunded, 0) + coalesce(returned.refunded, 0))::bigint
        FROM k JOIN goseller_sellers s ON s.id = k.seller_id
        LEFT JOIN placed USING (d, currency, seller_id) LEFT JOIN paid USING (d, currency, seller_id)
        LEFT JOIN canceled USING (d, currency, seller_id)
        LEFT JOIN returned USING (d, currency, seller_id)
        ORDER BY 1, 2, 3""")
    got = query("SELECT order_date, currency, seller_id, seller_user_id, orders_placed, "
                "orders_paid, orders_canceled, orders_returned, gmv_minor, platform_fees_minor, "
                "refunded_minor FROM marts.fct_orders_daily ORDER BY 1, 2, 3")
    assert got == [tuple(r) for r in expected]
    mine = query("SELECT sum(orders_placed), sum(orders_paid), sum(orders_canceled), "
                 "sum(orders_returned), sum(gmv_minor), sum(refunded_minor) "
                 "FROM marts.fct_orders_daily WHERE seller_id = ?", [seller_id])
    assert mine == [(len(ORDER_PLAN), plan["paid"], 2, 1, plan["gmv"], plan["refunded"])]
    perf = query("SELECT orders_delivered, gmv_minor, refunded_minor FROM marts.seller_performance "
                 "WHERE seller_id = ?", [seller_id])
    assert perf == [(2, plan["gmv"], plan["refunded"])]
    # affiliate commissions and the franchise's revenue share
    commissions = pg_exec(database_url, """
        SELECT a.user_id, c.status, sum(c.commission_minor)::bigint FROM affiliate_commissions c
        JOIN affiliates a ON a.id = c.affiliate_id GROUP BY 1, 2 ORDER BY 1, 2""")
    assert query("SELECT affiliate_user_id, status, sum(commission_minor)::bigint "
                 "FROM marts.fct_affiliate_commissions_daily GROUP BY 1, 2 ORDER BY 1, 2") == [
        tuple(r) for r in commissions]
    assert sum(r[2] for r in commissions) > 0
    revenue = pg_exec(database_url, """
        SELECT f.owner_user_id, sum(o.subtotal_minor - o.refunded_minor - o.platform_fee_minor)::bigint,
               -- the share is per order, on the franchise's basis (gross or net), rounded down
               sum((CASE f.share_basis WHEN 'gross' THEN o.subtotal_minor - o.refunded_minor
                    ELSE o.subtotal_minor - o.refunded_minor - o.platform_fee_minor END)
                   * f.share_bps / 10000)::bigint
        FROM franchise_order_attributions t JOIN goseller_orders o ON o.id = t.order_id
        JOIN franchises f ON f.id = t.franchise_id WHERE o.status = 'delivered'
        GROUP BY 1 ORDER BY 1""")
    assert len(revenue) >= 1
    assert query("SELECT franchisee_user_id, sum(net_minor)::bigint, sum(share_minor)::bigint "
                 "FROM marts.fct_territory_revenue_monthly GROUP BY 1 ORDER BY 1") == [
        tuple(r) for r in revenue]
    checks = _checks(first_run)
    for table in ("goseller_orders", "goseller_order_items", "affiliate_commissions",
                  "franchise_order_attributions"):
        assert checks[(f"raw/{table}", "gx_suite")].passed, table
    assert checks[("raw/goseller_orders", "reconcile_daily")].passed


def test_bad_marketplace_row_blocks_only_marketplace_marts(first_run, marketplace, database_url):
    """An order whose refund went negative (a row PostgreSQL's own check would refuse: the check
    is lifted for the test, as a faulty import or migration would) is quarantined with its
    expectation and batch; the marts it reaches keep their last good version, the others build."""
    from pipelines.snapshot import connect, query

    order_id, refunded = pg_exec(database_url, "SELECT id, refunded_minor FROM goseller_orders "
                                               "WHERE placed_at IS NOT NULL ORDER BY id DESC LIMIT 1")[0]
    before = query("SELECT sum(refunded_minor) FROM marts.fct_orders_daily")
    check = "ck_goseller_orders_refund_bounded"
    definition = pg_exec(database_url, "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                                       f"WHERE conname = '{check}'")[0][0]
    pg_exec(database_url, f"ALTER TABLE goseller_orders DROP CONSTRAINT {check}")
    try:
        pg_exec(database_url, f"UPDATE goseller_orders SET refunded_minor = -500 WHERE id = {order_id}")
        result = _run(raw_tables=["goseller_orders", "security_events"])
        gx = _checks(result)[("raw/goseller_orders", "gx_suite")]
        assert not gx.passed and gx.metadata["quarantined_this_batch"].value == 1
        done = _materialized(result)
        assert "raw/goseller_orders" in done
        for blocked in ("staging/stg_ehb__goseller_orders", "marts/fct_orders_daily",
                        "marts/seller_performance", "marts/fct_territory_revenue_monthly"):
            assert blocked not in done, blocked
        for built in ("marts/dim_users", "marts/fct_security_events_daily",
                      "marts/fct_payments_daily", "serving/warehouse_snapshot"):
            assert built in done, built
        assert query("SELECT sum(refunded_minor) FROM marts.fct_orders_daily") == before
        with connect() as con:
            rows = con.execute("SELECT expectation, batch_id FROM ops.quarantine WHERE "
                               "table_name = 'goseller_orders' AND row_pk = ?",
                               [str(order_id)]).fetchall()
        assert ("between(refunded_minor)", gx.metadata["batch_id"].value) in rows

        # corrected at the source: re-validated on the next run, the marts build again
        pg_exec(database_url, f"UPDATE goseller_orders SET refunded_minor = {refunded} "
                              f"WHERE id = {order_id}")
    finally:
        pg_exec(database_url, f"ALTER TABLE goseller_orders ADD CONSTRAINT {check} {definition}")
    result = _run(raw_tables=["goseller_orders"])
    assert _checks(result)[("raw/goseller_orders", "gx_suite")].passed
    assert {"marts/fct_orders_daily", "marts/seller_performance"} <= _materialized(result)
