"""Auth test helpers. Each test's client gets its own IP so the per-client brute-force
throttle of one test never locks another test out."""

from __future__ import annotations

import itertools

import pytest

from tests.auth.helpers import login
from tests.notifications.conftest import notify_settings, smtp_server  # noqa: F401

_ips = itertools.count(1)


@pytest.fixture
def client(app):
    from fastapi.testclient import TestClient

    n = next(_ips)
    with TestClient(app, raise_server_exceptions=False,
                    client=(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 50000)) as c:
        yield c


@pytest.fixture
def new_client(app):
    """Another client with an IP of its own (a second device or an attacker)."""
    from fastapi.testclient import TestClient

    opened = []

    def _make():
        n = next(_ips)
        c = TestClient(app, raise_server_exceptions=False,
                       client=(f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}", 50000))
        c.__enter__()
        opened.append(c)
        return c

    yield _make
    for c in opened:
        c.__exit__(None, None, None)


@pytest.fixture
def signed_in(client, make_user):
    """(user, password, login response body) for a fresh verified customer."""
    user, password = make_user()
    r = login(client, user.email, password)
    assert r.status_code == 200, r.text
    return user, password, r.json()


@pytest.fixture
def mailbox(smtp_server, notify_settings, database_url):
    """The users' mailboxes: `mailbox.token(email, "/reset-password")` runs the queued jobs
    (requests, deliveries) and returns the newest token mailed to that address, the only place
    a verification or reset token exists."""
    from tests.auth.helpers import mailed_token, mailed_tokens, run_notification_jobs

    inbox, port = smtp_server
    notify_settings(port)

    class Mailbox:
        def tokens(self, email: str, path: str) -> list[str]:
            run_notification_jobs(database_url)
            return mailed_tokens(inbox, email, path)

        def token(self, email: str, path: str) -> str:
            run_notification_jobs(database_url)
            return mailed_token(inbox, email, path)

    return Mailbox()
