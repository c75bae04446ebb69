"""The wallet (0120: approval limits) and trusty (0220: request snapshots, policy changes,
answering wallet_transfer) revisions upgrade over existing data, step back and forward again
on a database of their own, and leave no drift against the models."""

from __future__ import annotations

import uuid

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.db import Base
from api.migrate import alembic_config
from api.registry import import_all_models

MINE = {"wallet_approval_limits", "trusty_requests", "trusty_request_approvers",
        "trusty_policy_changes", "trusty_policy_change_votes"}

SEED = """
INSERT INTO users (id, email, display_name, password_hash, roles, is_active)
VALUES (1, 'owner@example.com', '', 'x', '{customer}', true),
       (2, 'a1@example.com', '', 'x', '{customer}', true),
       (3, 'a2@example.com', '', 'x', '{customer}', true);
INSERT INTO trusty_policies (id, user_id, currency, threshold, required, approval_ttl_seconds,
                             vault_delay_seconds)
VALUES (1, 1, 'USD', 5000, 2, 3600, 7200);
INSERT INTO trusty_policy_approvers (policy_id, user_id) VALUES (1, 2), (1, 3);
INSERT INTO trusty_requests (id, policy_id, requester_id, kind, amount, currency, status,
                             expires_at)
VALUES (1, 1, 1, 'vault_deposit', 9000, 'USD', 'pending', now() + interval '1 hour');
"""


def _functions(conn) -> str:
    return conn.execute(text("SELECT pg_get_functiondef('wallet_transfer'::regproc)")).scalar()


def test_wallet_and_trusty_revisions_round_trip_over_data(database_url):
    name = f"ehb_mig_{uuid.uuid4().hex[:8]}"
    admin_dsn = make_url(database_url).set(database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(make_url(database_url).set(database=name,
                                                      drivername="postgresql+psycopg"))
    try:
        def run(fn, target):
            with engine.begin() as conn:
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                fn(cfg, target)

        run(command.upgrade, "heads")
        run(command.downgrade, "0210_trusty")
        run(command.downgrade, "0110_wallet")
        with engine.begin() as conn:
            assert "approval_required" not in _functions(conn)
            conn.execute(text(SEED))
        run(command.upgrade, "heads")
        with engine.begin() as conn:
            assert conn.execute(text("SELECT user_id, currency, threshold FROM "
                                     "wallet_approval_limits")).all() == [(1, "USD", 5000)]
            assert conn.execute(text("SELECT required, vault_delay_seconds FROM trusty_requests "
                                     "WHERE id = 1")).one() == (2, 7200)
            assert conn.execute(text("SELECT user_id FROM trusty_request_approvers "
                                     "WHERE request_id = 1 ORDER BY 1")).scalars().all() == [2, 3]
            assert "approval_required" in _functions(conn)
        import_all_models()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert [d for d in diff if any(t in repr(d) for t in MINE)] == []
    finally:
        engine.dispose()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
