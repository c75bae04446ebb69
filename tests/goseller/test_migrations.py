"""The goseller, affiliates and franchises Alembic branches upgrade, downgrade and upgrade
again, on a database of their own, and leave no drift against the models."""

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

MINE = {"goseller_sellers", "goseller_products", "goseller_orders", "goseller_order_items",
        "goseller_payouts", "affiliates", "affiliate_referrals", "affiliate_commission_rules",
        "affiliate_commissions", "franchises", "franchise_territories",
        "franchise_postal_claims", "franchise_order_attributions", "franchise_settlements",
        "franchise_settlement_lines"}


def test_branches_round_trip(database_url):
    name = f"ehb_mig_{uuid.uuid4().hex[:8]}"
    admin = make_url(database_url).set(database="postgres")
    admin_dsn = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(database_url).set(database=name, drivername="postgresql+psycopg")
    engine = create_engine(url)
    try:
        def run(fn, target):
            with engine.begin() as conn:
                cfg = alembic_config()
                cfg.attributes["connection"] = conn
                fn(cfg, target)

        def tables():
            return set(inspect(engine).get_table_names())

        run(command.upgrade, "heads")
        assert MINE <= tables()
        for branch in ("franchises", "affiliates", "goseller"):
            run(command.downgrade, f"{branch}@base")
        assert not MINE & tables() and "users" in tables()
        run(command.upgrade, "heads")
        assert MINE <= tables()
        import_all_models()
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                    Base.metadata)
        assert [d for d in diff if any(t in repr(d) for t in MINE)] == []
    finally:
        engine.dispose()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
