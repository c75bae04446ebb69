import pytest

from tests.goseller.market import Market, skip_undelivered_order_messages


@pytest.fixture
def market(client, make_user, auth_headers):
    yield Market(client, make_user, auth_headers)
    skip_undelivered_order_messages()
