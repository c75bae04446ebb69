"""A NUL byte in X-Device-ID reached the database twice on /wallets/transfers (the transfer,
then the failed-attempt record of its refusal): 500. The header is now visible ASCII by its
schema, so it is a 422 naming it, and no money moves."""

from __future__ import annotations

import pytest

from tests.wallet.conftest import ledger_snapshot


@pytest.mark.parametrize("route", ["/api/v1/wallets/transfers", "/api/v1/trusty/transfers"])
@pytest.mark.parametrize("device", ["dev\x00ice", "dev\tice", "d" * 129])
def test_a_device_id_the_database_cannot_store_is_422(client, funded, auth_headers, idem, db,
                                                      route, device):
    payer, _ = funded(10_000)
    payee, _ = funded(0)
    before = ledger_snapshot(db)
    r = client.post(route, headers={**auth_headers(payer), **idem(), "X-Device-ID": device},
                    json={"to_user_id": payee.id, "amount": 100, "currency": "USD"})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error" and "X-Device-ID" in error["message"]
    db.expire_all()
    assert ledger_snapshot(db) == before


def test_a_plain_device_id_still_moves_money(client, funded, auth_headers, idem):
    payer, _ = funded(10_000)
    payee, _ = funded(0)
    r = client.post("/api/v1/wallets/transfers",
                    headers={**auth_headers(payer), **idem(), "X-Device-ID": "phone-7f3a"},
                    json={"to_user_id": payee.id, "amount": 100, "currency": "USD"})
    assert r.status_code == 201, r.text
