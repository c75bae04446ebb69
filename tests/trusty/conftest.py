import itertools

import pytest

from tests.wallet.conftest import fraud_config, funded, idem  # noqa: F401 - shared fixtures

_ips = itertools.count(1)


@pytest.fixture
def client(app):
    """Each test calls from its own client IP, so the per-IP velocity rule sees only its own
    attempts (all TestClients otherwise share the address "testclient")."""
    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False,
                    client=(f"10.9.{next(_ips) // 250}.{next(_ips) % 250 + 1}", 50000)) as c:
        yield c
