"""The simulator: same seed, same data (two fresh databases); activity goes through the services
(security events, outbox messages, tickets, orders, affiliate referrals and commissions,
franchise settlements exist with simulated business times)."""

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
        FROM goseller_orders o JOIN goseller_sellers s ON s.id = o.seller_id),
       (SELECT json_agg(json_build_array(a.user_id, a.status, r.referred_user_id, r.kind,
                                         r.first_touch_at) ORDER BY r.id)
        FROM affiliate_referrals r JOIN affiliates a ON a.id = r.affiliate_id),
       (SELECT json_agg(json_build_array(c.order_id, c.period, c.order_amount_minor,
                                         c.commission_minor, c.breakdown, c.status,
                                         c.approved_at, c.paid_at) ORDER BY c.id)
        FROM affiliate_commissions c),
       (SELECT json_agg(json_build_array(f.owner_user_id, st.period_start, st.order_count,
                                         st.gross_minor, st.net_minor, st.share_minor,
                                         st.status, st.posted_at) ORDER BY st.id)
        FROM franchise_settlements st JOIN franchises f ON f.id = st.franchise_id)
"""


def _fresh_db(admin_url: str) -> str:
    name = f"ehb_sim_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


# Long enough that a month with deliveries has closed (its return window over) at any simulated
# "today", so franchise settlements and paid affiliate commissions exist.
DAYS, USERS = 150, 100
# the simulated "today"s: today's failing date, the first and last of a month, a year's end
ENDS = ("2026-12-05", "2027-01-01", "2026-12-31", "2027-02-28")


def _start(url: str, seed: int, end: str) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url}
    ehb = os.path.join(os.path.dirname(sys.executable), "ehb")
    subprocess.run([ehb, "db", "upgrade"], env=env, check=True, capture_output=True)
    return subprocess.Popen([ehb, "simulate", "--days", str(DAYS), "--users", str(USERS),
                             "--seed", str(seed), "--end", end], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _snapshot(url: str, proc: subprocess.Popen) -> tuple:
    out, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert f"users={USERS}" in out
    with psycopg.connect(url) as conn:
        return conn.execute(SNAPSHOT).fetchone()


def _simulate_side_by_side(database_url: str, ends: list[str]) -> list[tuple]:
    """One fresh database per simulated "today", simulated in parallel; their snapshots."""
    admin = make_url(database_url).set(database="postgres").render_as_string(hide_password=False)
    names = [_fresh_db(admin) for _ in ends]
    try:
        urls = [make_url(database_url).set(database=n).render_as_string(hide_password=False)
                for n in names]
        procs = [_start(u, 42, end) for u, end in zip(urls, ends, strict=True)]
        return [_snapshot(u, p) for u, p in zip(urls, procs, strict=True)]
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            for n in names:
                conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def _assert_plausible(snapshot: tuple, end: str) -> None:
    users, events, tickets, outbox, orders, referrals, commissions, settlements = snapshot
    assert len(users) == USERS and outbox >= USERS
    assert any(e[0] == "login_failed" for e in events)  # bad actors and typos
    assert any(e[0] == "login_succeeded" for e in events)
    days = {u[3][:10] for u in users}
    assert len(days) > 7  # sign-ups spread over the simulated weeks, not all today
    # GoSeller orders through the service functions: placed, paid, delivered or canceled
    assert orders and {"delivered", "canceled"} <= {o[2] for o in orders}
    assert all(o[3] > 0 and o[4] == o[3] // 10 for o in orders)  # 10 % platform fee
    assert len({o[6][:10] for o in orders}) > 2  # placed on several simulated days
    # affiliates: sign-ups referred by approved affiliates; commissions paid after the window
    assert referrals and all(r[1] == "approved" and r[3] == "signup" for r in referrals)
    assert "paid" in {c[5] for c in commissions}
    assert all(c[7] is not None and c[3] > 0 for c in commissions if c[5] == "paid")
    # franchises: a closed month settled and posted to the franchisees' wallets
    assert settlements and all(s[6] == "posted" and s[5] > 0 for s in settlements)
    # every simulated time lies inside the simulated window, none after its "today"
    assert max(u[3][:10] for u in users) <= end and max(o[6][:10] for o in orders) <= end


@pytest.mark.slow
@pytest.mark.timeout(900)  # several simulations side by side on 2 cores
def test_same_seed_same_data(database_url):
    first, second = _simulate_side_by_side(database_url, [ENDS[0], ENDS[0]])
    _assert_plausible(first, ENDS[0])
    assert first == second


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_any_today_gives_a_full_scenario(database_url):
    """The same scenario at other simulated "today"s: a month's first and last day, a year's
    end. The calendar day the suite runs on plays no part."""
    for end, snapshot in zip(ENDS[1:], _simulate_side_by_side(database_url, list(ENDS[1:])),
                             strict=True):
        _assert_plausible(snapshot, end)
