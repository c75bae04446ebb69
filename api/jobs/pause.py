"""Periodic hooks pause while a simulation writes.

The simulator writes months of activity at simulated times through the services. The worker's
periodic hooks act at real time (expire pending approvals, settle, pay out, prune throttles):
run against a simulation in progress they change what it does next, and `make run`'s demo data
differed from one start to the next for the same seed. The simulation holds an exclusive
PostgreSQL advisory lock; each periodic run takes it shared or skips its tick."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from api.db import get_engine

PAUSE_LOCK = 0x45484235  # "EHB5": one key per database, shared with nothing else


@contextmanager
def periodic_hooks_paused() -> Iterator[None]:
    """Held for a whole simulation: waits for running periodic hooks, then keeps new ones off."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SELECT pg_advisory_lock(%s)", (PAUSE_LOCK,))
        try:
            yield
        finally:  # session-level: the pool's reset on return would not release it
            conn.exec_driver_sql("SELECT pg_advisory_unlock(%s)", (PAUSE_LOCK,))


@contextmanager
def unless_paused() -> Iterator[bool]:
    """Yields whether a periodic hook may run now (no simulation holds the pause)."""
    with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        free = conn.exec_driver_sql("SELECT pg_try_advisory_lock_shared(%s)",
                                    (PAUSE_LOCK,)).scalar_one()
        try:
            yield free
        finally:
            if free:
                conn.exec_driver_sql("SELECT pg_advisory_unlock_shared(%s)", (PAUSE_LOCK,))
