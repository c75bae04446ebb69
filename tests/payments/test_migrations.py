"""The payments Alembic branch (with 0301: escrow payee, one wallet method per user) upgrades,
steps back and forward again on a database of its own, and leaves no drift against the models."""

from __future__ import annotations

import uuid

import psycopg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlalchemy.engine import make_url

from api.db import Base
from api.migrate import alembic_config
from api.registry import import_all_models

MINE = {"payment_methods", "payment_intents", "payment_refunds", "payment_webhook_events"}


def test_payments_branch_round_trip(database_url):
    name = f"ehb_mig_{uuid.uuid4().hex[:8]}"
    admin = make_url(database_url).set(database="postgres")
    admin_dsn = admin.render_as_string(hide_password=False)
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

        def intent_columns():
            return {c["name"] for c in inspect(engine).get_columns("payment_intents")}

        run(command.upgrade, "heads")
        assert "payee_account" in intent_columns()
        run(command.downgrade, "0300_payments")
        assert "payee_account" not in intent_columns()
        run(command.upgrade, "heads")
        import_all_models()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert [d for d in diff if any(t in repr(d) for t in MINE)] == []
    finally:
        engine.dispose()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
