"""Incremental daily marts equal a full rebuild: after late, changed (moved to another day) and
deleted source rows reach raw through incremental ingestion, `dbt run` merges only the touched
keys, and every incremental mart is compared, row for row, with a --full-refresh build of a copy
of the same warehouse."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from tests.clock import SIM_END

from pipelines.dbt_assets import DBT_DIR
from pipelines.ingest import ingest_table
from pipelines.tables import BY_NAME
from tests.pipelines.conftest import pg_exec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

INCREMENTAL = {  # model -> its unique key
    "fct_ledger_daily": ("ledger_date", "currency"),
    "fct_payments_daily": ("payment_date", "currency"),
    "fct_orders_daily": ("order_date", "currency", "seller_id"),
    "fct_security_events_daily": ("event_date", "event_type"),
    "fct_login_failures_daily": ("event_date",),
}
SOURCES = ("users", "security_events", "wallet_accounts", "wallet_transactions",
           "wallet_entries", "payment_intents", "goseller_sellers", "goseller_orders")


def _dbt(warehouse: Path, target: Path, *args: str) -> str:
    env = {**os.environ, "EHB_WAREHOUSE_DIR": str(warehouse)}
    select = " ".join(f"+{m}" for m in INCREMENTAL)
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "run", "--select", select,
         "--project-dir", str(DBT_DIR), "--profiles-dir", str(DBT_DIR),
         "--target-path", str(target), *args],
        env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    return proc.stdout


def _ingest(warehouse: Path, database_url: str) -> None:
    with duckdb.connect(str(warehouse / "build.duckdb")) as con:
        con.execute("SET TimeZone = 'UTC'")
        for name in SOURCES:
            ingest_table(con, database_url, BY_NAME[name])


def _rows(path: Path, model: str) -> list[tuple]:
    with duckdb.connect(str(path), read_only=True) as con:
        return con.execute(f"SELECT * FROM marts.{model} ORDER BY ALL").fetchall()


def _simulate(days: int, users: int, seed: int) -> None:
    from api.db import new_session
    from api.simulator.engine import run

    run(days=days, users=users, seed=seed, end=SIM_END, session_factory=new_session)


def _old_activity() -> dict:
    """Payment intents and orders 8-10 days old, through the services on a simulated clock."""
    import uuid

    from api.db import new_session
    from api.goseller import orders
    from api.goseller import service as goseller
    from api.payments import service as payments
    from api.simulator.clock import SimClock
    from api.wallet import service as wallet
    from tests.pipelines.conftest import new_user

    now = datetime.now(UTC)
    buyer, owner, admin = new_user(), new_user(roles=["seller"]), new_user(roles=["admin"])
    clock = SimClock(now)
    made = {"intents": [], "orders": []}
    with new_session() as s:
        clock.attach(s)
        wallet.open_wallet(s, buyer.id, "EUR")
        s.commit()
        card = payments.add_card(s, buyer.id, "4242424242424242", 12, 2031).id
        for days, amount in ((10, 999), (9, 5000), (8, 700)):
            clock.now = now - timedelta(days=days)
            intent = payments.create_intent(s, user_id=buyer.id, amount=amount, currency="EUR")
            payments.confirm(s, intent, card)
            s.commit()
            made["intents"].append(intent.id)
        seller = goseller.register_seller(s, owner.id, f"incremental {uuid.uuid4().hex[:6]}")
        goseller.set_seller_status(s, seller.id, "verified", admin.id)
        product = goseller.create_product(s, owner.id, sku=f"INC-{uuid.uuid4().hex[:8]}",
                                          title="Lamp", category="home", price_minor=4200,
                                          currency="EUR", stock=10)
        address = orders.Address("Ada", "Main 1", "Berlin", None, "X-NOWHERE", "DE")
        for days, fate in ((10, "delivered"), (9, "canceled"), (8, "paid")):
            t = now - timedelta(days=days)
            clock.now = t
            order = orders.set_cart_item(s, buyer.id, product.id, 1)
            orders.place_order(s, buyer.id, order.id, address, now=t)
            if fate == "canceled":
                orders.cancel_by_buyer(s, buyer.id, order.id, "changed my mind",
                                       now=t + timedelta(hours=1))
            else:
                orders.pay_order(s, buyer.id, order.id, now=t + timedelta(hours=1),
                                 payment_method_id=card)
            if fate == "delivered":
                orders.fulfill_order(s, owner.id, order.id, now=t + timedelta(hours=2))
                orders.deliver_order(s, owner.id, order.id, now=t + timedelta(hours=3))
            made["orders"].append(order.id)
    made["shop"] = (buyer.id, product.id, card, address)
    return made


@pytest.fixture(scope="module")
def built(database_url, tmp_path_factory):
    """Simulated history plus known old rows, ingested and built once (a first build: full)."""
    _simulate(20, 15, seed=2020)
    made = _old_activity()
    warehouse = tmp_path_factory.mktemp("incremental")
    target = tmp_path_factory.mktemp("dbt_target")
    _ingest(warehouse, database_url)
    _dbt(warehouse, target)
    # an hour later, new activity and an incremental run; the lookback re-reads the previous
    # batch, so the next run re-reads only this one
    _an_hour_passes(warehouse / "build.duckdb")
    _new_activity(*made["shop"])
    _ingest(warehouse, database_url)
    _dbt(warehouse, target)
    return warehouse, target, made


def _new_activity(buyer_id: int, product_id: int, card: int, address) -> None:
    """A card top-up (ledger entries), an order paid and a failed login, now."""
    from api.db import new_session
    from api.goseller import orders
    from api.payments import service as payments
    from api.wallet import service as wallet
    from tests.pipelines.conftest import new_user

    user = new_user()
    with new_session() as s:
        wallet.open_wallet(s, user.id, "EUR")
        s.commit()
        own_card = payments.add_card(s, user.id, "4242424242424242", 12, 2031).id
        payments.confirm(s, payments.create_intent(s, user_id=user.id, amount=2500,
                                                   currency="EUR"), own_card)
        s.commit()
        order = orders.set_cart_item(s, buyer_id, product_id, 2)
        orders.place_order(s, buyer_id, order.id, address)
        orders.pay_order(s, buyer_id, order.id, payment_method_id=card)
    pg_exec(os.environ["DATABASE_URL"],
            "INSERT INTO security_events (event_type, email, client_ip, details) "
            "VALUES ('login_failed', 'now@example.com', '10.8.8.8', '{}')")


def _an_hour_passes(build: Path) -> None:
    """Age what was loaded by an hour: the next run's lookback (10 minutes) must then re-read
    only what changed, as in production where runs are 15 minutes apart."""
    with duckdb.connect(str(build)) as con:
        # raw.<t> are views over raw_base and raw_delta
        tables = con.execute("SELECT table_schema, table_name FROM information_schema.columns "
                             "WHERE column_name = '_ingested_at' AND table_schema IN "
                             "('raw_base', 'raw_delta', 'dbt_state') "
                             "AND table_name NOT LIKE '%__delta'").fetchall()
        for schema, table in tables:
            con.execute(f'UPDATE {schema}."{table}" SET _ingested_at = _ingested_at - '
                        "interval 1 hour")


def _old_changes(database_url: str, made: dict) -> dict:
    """At the source: an old payment intent changed and moved 3 days earlier (its old and new
    day are both touched), another deleted; an old order changed and moved 2 days earlier,
    another deleted; a security event that arrives late, dated 12 days ago."""
    changed_intent, deleted_intent, _ = made["intents"]
    changed_order, deleted_order, _ = made["orders"]
    day = pg_exec(database_url, "SELECT (created_at AT TIME ZONE 'UTC')::date FROM "
                  f"payment_intents WHERE id = {deleted_intent}")[0][0]
    pg_exec(database_url,
            f"UPDATE payment_intents SET fee_amount = fee_amount + 17, "
            f"created_at = created_at - interval '3 days' WHERE id = {changed_intent}",
            f"DELETE FROM payment_intents WHERE id = {deleted_intent}",
            f"UPDATE goseller_orders SET refunded_minor = refunded_minor + 101, "
            f"placed_at = placed_at - interval '2 days' WHERE id = {changed_order}",
            f"DELETE FROM goseller_orders WHERE id = {deleted_order}",
            "INSERT INTO security_events (event_type, email, client_ip, occurred_at, details) "
            "VALUES ('login_failed', 'late@example.com', '10.9.9.9', "
            "now() - interval '12 days', '{}')")
    return {"day": day, "deleted_intent": deleted_intent}


def test_incremental_run_equals_full_refresh(built, database_url, tmp_path):
    warehouse, target, made = built
    build = warehouse / "build.duckdb"
    before = {m: _rows(build, m) for m in INCREMENTAL}
    touched = _old_changes(database_url, made)
    _ingest(warehouse, database_url)
    _dbt(warehouse, target)

    with duckdb.connect(str(build), read_only=True) as con:
        for model in INCREMENTAL:
            delta, total = con.execute(
                f"SELECT (SELECT count(*) FROM dbt_state.{model}__delta WHERE is_current), "
                f"(SELECT count(*) FROM dbt_state.{model}__rows)").fetchone()
            assert 0 < delta < total, f"{model} was not built incrementally ({delta}/{total})"
        assert con.execute("SELECT count(*) FROM raw.payment_intents WHERE id = ?",
                           [touched["deleted_intent"]]).fetchone() == (0,)
    incremental = {m: _rows(build, m) for m in INCREMENTAL}
    for model in ("fct_payments_daily", "fct_orders_daily", "fct_security_events_daily",
                  "fct_login_failures_daily"):
        assert incremental[model] != before[model], f"{model}: the changes did not reach it"

    full_dir = tmp_path / "full"
    full_dir.mkdir()
    shutil.copyfile(build, full_dir / "build.duckdb")
    _dbt(full_dir, tmp_path / "target_full", "--full-refresh")
    for model, key in INCREMENTAL.items():
        full = _rows(full_dir / "build.duckdb", model)
        assert incremental[model] == full, f"{model}: incremental != full refresh"
        with duckdb.connect(str(full_dir / "build.duckdb"), read_only=True) as con:
            dupes = con.execute(f"SELECT count(*) - count(DISTINCT ({', '.join(key)})) "
                                f"FROM marts.{model}").fetchone()[0]
        assert dupes == 0
    # the day of the deleted intent lost it (the whole day goes when it was the only one)
    day = touched["day"]

    def intents_that_day(rows):
        return sum(r[2] for r in rows if r[0] == day)

    assert intents_that_day(incremental["fct_payments_daily"]) == (
        intents_that_day(before["fct_payments_daily"]) - 1)


def test_lookback_matches_ingestion():
    import yaml

    from pipelines.ingest_delta import LOOKBACK

    project = yaml.safe_load((DBT_DIR / "dbt_project.yml").read_text())
    assert project["vars"]["ehb_lookback_minutes"] * 60 == LOOKBACK.total_seconds()
