"""Users admin fixtures: a client with an IP of its own (see tests/auth/conftest.py)."""

from tests.auth.conftest import client, new_client  # noqa: F401
