"""An amount or id of 2**63 on a money route is a 422 naming the field, not a 500 (the
database's bigint overflowed before), and no money moves."""

from __future__ import annotations

import pytest

from tests.wallet.conftest import ledger_snapshot

HUGE = 2**63


@pytest.mark.parametrize("route, body", [
    ("/api/v1/wallets/transfers", {"to_user_id": HUGE, "amount": 100, "currency": "USD"}),
    ("/api/v1/wallets/transfers", {"to_user_id": "PAYEE", "amount": HUGE, "currency": "USD"}),
    ("/api/v1/wallets/transfers", {"to_user_id": -HUGE - 1, "amount": 100, "currency": "USD"}),
    ("/api/v1/trusty/transfers", {"to_user_id": HUGE, "amount": 100, "currency": "USD"}),
    ("/api/v1/trusty/transfers", {"to_user_id": "PAYEE", "amount": HUGE, "currency": "USD"}),
    ("/api/v1/trusty/vault/deposits", {"amount": HUGE, "currency": "USD"}),
    ("/api/v1/payments/intents", {"amount": HUGE, "currency": "USD"}),
    ("/api/v1/payments/intents", {"amount": 100, "currency": "USD", "payee_user_id": HUGE}),
])
def test_int64_overflow_in_a_money_body_is_422_and_moves_nothing(client, funded, auth_headers,
                                                                  idem, db, route, body):
    payer, _ = funded(10_000)
    payee, _ = funded(0)
    body = {k: payee.id if v == "PAYEE" else v for k, v in body.items()}
    before = ledger_snapshot(db)
    r = client.post(route, headers={**auth_headers(payer), **idem()}, json=body)
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error"
    field = next(k for k, v in body.items() if isinstance(v, int) and abs(v) >= HUGE - 1)
    assert [field] in [d["loc"][-1:] for d in error["details"]]
    db.expire_all()
    assert ledger_snapshot(db) == before


@pytest.mark.parametrize("path", [
    f"/api/v1/wallets/transactions/{HUGE}",
    f"/api/v1/wallets/balances?user_id={HUGE}",
    f"/api/v1/wallets/transactions?counterparty_id={HUGE}",
    f"/api/v1/wallets/verify?account_id={HUGE}",
    f"/api/v1/payments/intents/{HUGE}",
])
def test_int64_overflow_in_a_path_or_query_id_is_422(client, make_user, auth_headers, path):
    admin, _ = make_user(roles=["admin"])
    r = client.get(path, headers=auth_headers(admin))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "validation_error"
    # The largest bigint is a well-formed id that names no row.
    r = client.get(path.replace(str(HUGE), str(HUGE - 1)), headers=auth_headers(admin))
    assert r.status_code in (200, 404), r.text
