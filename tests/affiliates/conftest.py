import pytest

from tests.goseller.market import Market


@pytest.fixture
def market(client, make_user, auth_headers):
    return Market(client, make_user, auth_headers)
