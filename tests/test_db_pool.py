"""The pool pings only connections that sat idle, and still recovers from a dead one."""

from __future__ import annotations

import time

import psycopg
from sqlalchemy import text

from api import db


def _backend_pid() -> int:
    with db.get_engine().connect() as conn:
        return conn.execute(text("select pg_backend_pid()")).scalar_one()


def _age_pooled_connections(seconds: float) -> None:
    for record in list(db.get_engine().pool._pool.queue):
        record.info["checked_in_at"] -= seconds


def test_only_idle_connections_are_pinged(database_url, monkeypatch):
    _backend_pid()  # at least one pooled connection
    for record in list(db.get_engine().pool._pool.queue):
        record.info["checked_in_at"] = time.monotonic()
    dialect = db.get_engine().dialect
    pings = []
    real_ping = dialect._do_ping_w_event
    monkeypatch.setattr(dialect, "_do_ping_w_event", lambda c: pings.append(c) or real_ping(c))
    _backend_pid()
    _backend_pid()
    assert pings == []
    _age_pooled_connections(db.PING_IF_IDLE_SECONDS + 1)
    _backend_pid()
    assert len(pings) == 1


def test_idle_connection_killed_by_the_server_is_replaced(database_url):
    pid = _backend_pid()
    with psycopg.connect(database_url, autocommit=True) as admin:
        admin.execute("select pg_terminate_backend(%s)", (pid,))
    _age_pooled_connections(db.PING_IF_IDLE_SECONDS + 1)
    # The checkout ping finds the dead connection; the request gets a live one, no error.
    assert _backend_pid() != pid
