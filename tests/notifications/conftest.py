"""A local SMTP server (aiosmtpd) tests read delivered mail from; a client address per test."""

from __future__ import annotations

import itertools
import socket
from email import message_from_bytes, policy

import pytest

_ips = itertools.count(1)


@pytest.fixture
def client(app):
    """A test client with an address of its own (10.200.x.x): the WebSocket connect rate
    limit per client address of one test never refuses another test's sockets."""
    from fastapi.testclient import TestClient

    n = next(_ips)
    with TestClient(app, raise_server_exceptions=False,
                    client=(f"10.200.{n // 256 % 256}.{n % 256}", 50000)) as c:
        yield c


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append({"to": list(envelope.rcpt_tos), "from": envelope.mail_from,
                              "email": message_from_bytes(envelope.content, policy=policy.default)})
        return "250 OK"

    def to(self, address: str):
        return [m["email"] for m in self.messages if address in m["to"]]


@pytest.fixture
def smtp_server():
    """Yields (inbox, port) with an SMTP server listening on 127.0.0.1:port."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


@pytest.fixture
def notify_settings(monkeypatch):
    """Point delivery (also inside workers of this process) at a given SMTP port."""
    from api.notifications.settings import get_notification_settings

    def _set(port: int, **env):
        monkeypatch.setenv("NOTIFICATIONS_SMTP_PORT", str(port))
        for k, v in env.items():
            monkeypatch.setenv(f"NOTIFICATIONS_{k.upper()}", str(v))
        get_notification_settings.cache_clear()
        return get_notification_settings()

    yield _set
    get_notification_settings.cache_clear()
