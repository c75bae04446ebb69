"""Test session: a real PostgreSQL database of its own, created for this run and dropped after.

The server is the one at TEST_DATABASE_ADMIN_URL (default: 127.0.0.1:5432, user postgres);
when none answers, an embedded PostgreSQL starts under data/test-pg, so `make test` also
passes on a machine without a server.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"

# Settings read the environment: fix it before anything imports api.settings.
os.environ["EHB_ENV"] = "test"
os.environ.setdefault("JWT_SECRET", "test-secret-" + "x" * 40)
os.environ["RATE_LIMIT_PER_CLIENT"] = "100000/minute"
os.environ["RATE_LIMIT_PER_USER"] = "100000/minute"
os.environ.pop("REDIS_URL", None)


def _admin_url() -> tuple[str, object | None]:
    url = os.environ.get("TEST_DATABASE_ADMIN_URL", DEFAULT_ADMIN_URL)
    try:
        psycopg.connect(url, connect_timeout=3).close()
        return url, None
    except psycopg.OperationalError:
        from api.embedded_pg import EmbeddedPostgres

        server = EmbeddedPostgres(ROOT / "data", name="test-pg", database="postgres")
        server.start()
        return server.admin_url, server


def _with_database(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    admin_url, server = _admin_url()
    name = f"ehb_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = _with_database(admin_url, name)
    os.environ["DATABASE_URL"] = url
    from api import migrate
    from api.db import get_engine, reset_engine

    reset_engine()
    migrate.upgrade()
    try:
        yield url
    finally:
        get_engine().dispose()
        reset_engine()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if server is not None:
            server.stop()


@pytest.fixture(scope="session")
def app(database_url):
    from api.main import create_app

    return create_app()


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def db(database_url):
    from api.db import new_session

    with new_session() as session:
        yield session


@pytest.fixture
def make_user(database_url):
    """make_user(roles=[...], password=..., verified=True) -> (User, password)."""
    from api.auth.service import create_user
    from api.db import session_scope

    def _make(roles: list[str] | None = None, password: str = "correct horse battery staple",
              verified: bool = True, email: str | None = None):
        email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
        with session_scope() as session:
            user = create_user(session, email, password, roles=roles or ["customer"],
                               verified=verified)
        return user, password

    return _make


@pytest.fixture
def auth_headers():
    """Bearer headers for a user id, with an access token signed like the login flow's."""
    from api.auth.tokens import issue_access_token
    from api.settings import get_settings

    def _headers(user) -> dict[str, str]:
        token = issue_access_token(get_settings(), user.id, session_family=None)
        return {"Authorization": f"Bearer {token}"}

    return _headers
