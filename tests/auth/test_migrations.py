"""The auth revisions of the core branch, on a database of their own: 0003 removes the tokens
and links earlier versions stored in the outbox and ends the tokens they exposed."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from alembic import command
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from api.migrate import alembic_config


@pytest.fixture
def scratch_engine(database_url):
    name = f"ehb_mig_{uuid.uuid4().hex[:8]}"
    admin_dsn = make_url(database_url).set(database="postgres").render_as_string(
        hide_password=False)
    with psycopg.connect(admin_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    engine = create_engine(make_url(database_url).set(database=name,
                                                      drivername="postgresql+psycopg"))
    try:
        yield engine
    finally:
        engine.dispose()
        with psycopg.connect(admin_dsn, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(engine, fn, target: str) -> None:
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        fn(cfg, target)


def test_0003_removes_stored_links_and_ends_the_tokens_they_exposed(scratch_engine):
    _migrate(scratch_engine, command.upgrade, "0002_auth_throttle_key")
    with scratch_engine.begin() as conn:
        user = conn.execute(text(
            "INSERT INTO users (email, display_name, password_hash, roles, is_active)"
            " VALUES ('old@example.com', '', 'x', '{customer}', true) RETURNING id")).scalar()
        conn.execute(text(
            "INSERT INTO email_tokens (user_id, purpose, token_hash, expires_at)"
            " VALUES (:u, 'password_reset', repeat('a', 64), now() + interval '1 hour')"),
            {"u": user})

        def outbox(category, status, body, payload):
            return conn.execute(text(
                "INSERT INTO notification_outbox (user_id, channel, category, recipient, subject,"
                " body, payload, status, attempts) VALUES (:u, 'email', :c, 'old@example.com',"
                " 's', :b, CAST(:p AS jsonb), :s, 0) RETURNING id"),
                {"u": user, "c": category, "b": body, "p": payload, "s": status}).scalar()

        pending = outbox("auth.password_reset", "pending",
                         "Reset: https://x/reset-password?token=AbC_123-xyz\nbye",
                         '{"token": "AbC_123-xyz", "url": "https://x/reset-password?token=AbC_123-xyz"}')
        sent = outbox("auth.verify_email", "sent", "Confirm: https://x/verify-email?token=Q9_z",
                      '{"token": "Q9_z", "keep": 1}')
        receipt = outbox("payments.receipt", "pending", "see https://x/r?token=public-ok", "{}")

    _migrate(scratch_engine, command.upgrade, "heads")
    with scratch_engine.connect() as conn:
        rows = {r.id: r for r in conn.execute(text(
            "SELECT id, status, body, payload, last_error FROM notification_outbox"))}
        unused = conn.execute(text(
            "SELECT count(*) FROM email_tokens WHERE used_at IS NULL")).scalar()
    assert rows[pending].status == "failed" and "request a new one" in rows[pending].last_error
    assert rows[pending].body == "Reset: https://x/reset-password?token=[removed]\nbye"
    assert rows[pending].payload == {}
    assert rows[sent].status == "sent" and rows[sent].payload == {"keep": 1}
    assert "Q9_z" not in rows[sent].body
    # Other mail is not touched.
    assert (rows[receipt].status, rows[receipt].body) == ("pending",
                                                          "see https://x/r?token=public-ok")
    assert unused == 0


def test_0004_known_devices_round_trip_without_drift(scratch_engine):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext
    from sqlalchemy import inspect

    from api.db import Base
    from api.registry import import_all_models

    _migrate(scratch_engine, command.upgrade, "heads")
    assert "known_devices" in inspect(scratch_engine).get_table_names()
    _migrate(scratch_engine, command.downgrade, "0003_auth_unstored_mail_links")
    assert "known_devices" not in inspect(scratch_engine).get_table_names()
    _migrate(scratch_engine, command.upgrade, "heads")
    import_all_models()
    with scratch_engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}),
                                Base.metadata)
    assert [d for d in diff if "known_devices" in repr(d)] == []
