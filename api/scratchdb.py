"""A scratch PostgreSQL database for benchmarks: created beside the configured one, migrated,
made the process's DATABASE_URL for the duration, dropped after (unless kept)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(base_url: str, *, prefix: str = "ehb_bench", keep: bool = False,
                     echo=None) -> Iterator[str]:
    """Yields the scratch database's URL (SQLAlchemy form, like base_url)."""
    from api import migrate
    from api.db import get_engine, reset_engine

    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    admin = make_url(base_url).set(drivername="postgresql")
    admin_url = admin.render_as_string(hide_password=False)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = make_url(base_url).set(database=name).render_as_string(hide_password=False)
    previous = os.environ.get("DATABASE_URL")
    os.environ["DATABASE_URL"] = url
    reset_engine()
    try:
        migrate.upgrade()
        if echo is not None:
            echo(f"scratch database {name} (migrated)")
        yield url
    finally:
        get_engine().dispose()
        if previous is None:
            os.environ.pop("DATABASE_URL", None)
        else:
            os.environ["DATABASE_URL"] = previous
        reset_engine()
        if not keep:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
