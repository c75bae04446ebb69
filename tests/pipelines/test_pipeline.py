"""The whole pipeline materialized in-process against the real PostgreSQL and a temporary
warehouse: simulate, ingest, validate, dbt build, publish; then a bad row, then its fix."""

from __future__ import annotations

import random
import threading

import dagster as dg
import pytest

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


@pytest.fixture(scope="module")
def first_run(warehouse_dir, database_url):
    from api.db import new_session
    from api.simulator.engine import run

    run(days=21, users=25, seed=random.randrange(10**6, 10**7), session_factory=new_session)
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
