"""The simulator: same seed, same data (two fresh databases); activity goes through the services
(security events, outbox messages and tickets exist with simulated business times)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import psycopg
import pytest
from sqlalchemy.engine import make_url

SNAPSHOT = """
SELECT (SELECT json_agg(json_build_array(email, roles, email_verified_at IS NOT NULL,
                                         created_at) ORDER BY id) FROM users),
       (SELECT json_agg(json_build_array(event_type, email, client_ip, occurred_at)
                        ORDER BY occurred_at, id) FROM security_events),
       (SELECT json_agg(json_build_array(category, priority, status, created_at) ORDER BY id)
        FROM complaint_tickets),
       (SELECT count(*) FROM notification_outbox),
       (SELECT json_agg(json_build_array(o.buyer_id, s.user_id, o.status, o.subtotal_minor,
                                         o.platform_fee_minor, o.refunded_minor, o.placed_at,
                                         o.paid_at, o.delivered_at, o.returned_at) ORDER BY o.id)
        FROM goseller_orders o JOIN goseller_sellers s ON s.id = o.seller_id)
"""


def _fresh_db(admin_url: str) -> str:
    name = f"ehb_sim_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _simulate(url: str, seed: int) -> tuple:
    env = {**os.environ, "DATABASE_URL": url}
    ehb = os.path.join(os.path.dirname(sys.executable), "ehb")
    subprocess.run([ehb, "db", "upgrade"], env=env, check=True, capture_output=True)
    out = subprocess.run([ehb, "simulate", "--days", "14", "--users", "24", "--seed", str(seed)],
                         env=env, check=True, capture_output=True, text=True)
    assert "users=24" in out.stdout
    with psycopg.connect(url) as conn:
        return conn.execute(SNAPSHOT).fetchone()


@pytest.mark.slow
def test_same_seed_same_data(database_url):
    admin = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    names = [_fresh_db(admin), _fresh_db(admin)]
    try:
        urls = [make_url(database_url).set(database=n).render_as_string(hide_password=False)
                for n in names]
        first, second = (_simulate(u, seed=42) for u in urls)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for n in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')
    users, events, tickets, outbox, orders = first
    assert len(users) == 24 and outbox >= 24
    assert any(e[0] == "login_failed" for e in events)  # bad actors and typos
    assert any(e[0] == "login_succeeded" for e in events)
    days = {u[3][:10] for u in users}
    assert len(days) > 7  # sign-ups spread over the simulated weeks, not all today
    # GoSeller orders through the service functions: placed, paid, delivered or canceled
    assert orders and {"delivered", "canceled"} <= {o[2] for o in orders}
    assert all(o[3] > 0 and o[4] == o[3] // 10 for o in orders)  # 10 % platform fee
    assert len({o[6][:10] for o in orders}) > 2  # placed on several simulated days
    assert first == second
