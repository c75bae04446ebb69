"""Wallet endpoints: open, balances, transfers, history, transaction detail, refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.wallet.conftest import ledger_snapshot

URL = "/api/v1/wallets"


def _balance(client, headers, currency="USD", kind="user"):
    rows = client.get(f"{URL}/balances", headers=headers).json()
    return next(r["balance"] for r in rows if r["currency"] == currency and r["kind"] == kind)


def test_open_wallet_then_balances_and_duplicate_refused(client, make_user, auth_headers):
    user, _ = make_user()
    h = auth_headers(user)
    r = client.post(URL, json={"currency": "EUR"}, headers=h)
    assert r.status_code == 201, r.text
    assert r.json()["balance"] == 0 and r.json()["currency"] == "EUR"
    assert client.post(URL, json={"currency": "EUR"}, headers=h).status_code == 409
    r = client.post(URL, json={"currency": "XYZ"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_currency"
    assert [a["currency"] for a in client.get(f"{URL}/balances", headers=h).json()] == ["EUR"]


def test_transfer_moves_money_and_shows_postings(client, funded, auth_headers, idem, db):
    alice, _ = funded(10_000)
    bob, _ = funded(0)
    before = ledger_snapshot(db)
    r = client.post(f"{URL}/transfers", headers={**auth_headers(alice), **idem()},
                    json={"to_user_id": bob.id, "amount": 2_500, "currency": "USD",
                          "description": "lunch"})
    assert r.status_code == 201, r.text
    tx = r.json()
    assert tx["kind"] == "transfer"
    assert sorted(p["amount"] for p in tx["postings"]) == [-2_500, 2_500]
    assert sum(p["amount"] for p in tx["postings"]) == 0
    assert _balance(client, auth_headers(alice)) == 7_500
    assert _balance(client, auth_headers(bob)) == 2_500
    after = ledger_snapshot(db)
    assert after["totals"] == before["totals"]
    assert after["entries"] == before["entries"] + 2
    # Both parties can read it; a stranger gets 404.
    assert client.get(f"{URL}/transactions/{tx['id']}", headers=auth_headers(bob)).status_code == 200
    stranger, _ = funded(0)
    assert client.get(f"{URL}/transactions/{tx['id']}",
                      headers=auth_headers(stranger)).status_code == 404


def test_refusals_post_nothing(client, funded, auth_headers, idem, db, make_user):
    alice, _ = funded(1_000)
    bob, _ = funded(0)
    eur_only, _ = funded(0, currency="EUR")
    h = auth_headers(alice)
    before = ledger_snapshot(db)
    cases = [
        ({"to_user_id": bob.id, "amount": 0, "currency": "USD"}, 422, "invalid_amount"),
        ({"to_user_id": bob.id, "amount": -5, "currency": "USD"}, 422, "invalid_amount"),
        ({"to_user_id": bob.id, "amount": 5, "currency": "ABC"}, 422, "unknown_currency"),
        ({"to_user_id": bob.id, "amount": 5, "currency": "EUR"}, 422, "no_wallet"),
        ({"to_user_id": eur_only.id, "amount": 5, "currency": "USD"}, 422, "no_wallet"),
        ({"to_user_id": bob.id, "amount": 1_001, "currency": "USD"}, 422, "insufficient_funds"),
        ({"to_user_id": alice.id, "amount": 5, "currency": "USD"}, 422, "transfer_to_self"),
        ({"to_user_id": 987654321, "amount": 5, "currency": "USD"}, 404, "recipient_not_found"),
        ({"to_user_id": bob.id, "amount": 5.5, "currency": "USD"}, 422, "validation_error"),
    ]
    for body, status, code in cases:
        r = client.post(f"{URL}/transfers", headers={**h, **idem()}, json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), (body, r.text)
    r = client.post(f"{URL}/transfers", headers=h,
                    json={"to_user_id": bob.id, "amount": 5, "currency": "USD"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "idempotency_key_required"
    assert ledger_snapshot(db) == before
    assert _balance(client, h) == 1_000


def test_permissions_customers_only_see_their_own(client, funded, auth_headers, make_user):
    alice, _ = funded(100)
    bob, _ = funded(0)
    r = client.get(f"{URL}/balances", params={"user_id": alice.id}, headers=auth_headers(bob))
    assert r.status_code == 403
    support, _ = make_user(roles=["support"])
    r = client.get(f"{URL}/balances", params={"user_id": alice.id}, headers=auth_headers(support))
    assert r.status_code == 200 and r.json()[0]["balance"] == 100
    analyst, _ = make_user(roles=["analyst"])
    assert client.get(f"{URL}/balances", headers=auth_headers(analyst)).status_code == 403
    assert client.get(f"{URL}/verify", headers=auth_headers(alice)).status_code == 403
    assert client.get(f"{URL}/balances").status_code == 401
    # Support may read but never send money.
    r = client.post(f"{URL}/transfers", headers={**auth_headers(support), "Idempotency-Key": "x"},
                    json={"to_user_id": alice.id, "amount": 1, "currency": "USD"})
    assert r.status_code == 403


def test_history_pagination_and_filters(client, funded, auth_headers, idem):
    alice, _ = funded(10_000)
    bob, _ = funded(0)
    carol, _ = funded(0)
    h = auth_headers(alice)
    for i in range(5):
        to = bob if i % 2 == 0 else carol
        r = client.post(f"{URL}/transfers", headers={**h, **idem()},
                        json={"to_user_id": to.id, "amount": 100 + i, "currency": "USD"})
        assert r.status_code == 201
    seen, cursor = [], None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"{URL}/transactions", params=params, headers=h).json()
        seen += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            break
    # 5 transfers + the funding adjustment, newest first, no duplicates.
    assert [i["amount"] for i in seen] == [-104, -103, -102, -101, -100, 10_000]
    assert len({i["entry_id"] for i in seen}) == 6
    assert seen[0]["balance_after"] == 10_000 - sum(range(100, 105))
    to_bob = client.get(f"{URL}/transactions", params={"counterparty_id": bob.id}, headers=h).json()
    assert [i["amount"] for i in to_bob["items"]] == [-104, -102, -100]
    kinds = client.get(f"{URL}/transactions", params={"kind": "adjustment"}, headers=h).json()
    assert [i["amount"] for i in kinds["items"]] == [10_000]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    r = client.get(f"{URL}/transactions", params={"since": future}, headers=h)
    assert r.json()["items"] == []
    r = client.get(f"{URL}/transactions", params={"cursor": "garbage!"}, headers=h)
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_cursor"


def test_reversal_is_a_new_transaction(db, funded):
    from api.core.errors import AppError
    from api.wallet import service

    alice, a_acc = funded(500)
    bob, b_acc = funded(0)
    tx = service.transfer(db, from_user_id=alice.id, to_user_id=bob.id, amount=200, currency="USD")
    db.commit()
    rev = service.reverse(db, tx, initiated_by=None)
    db.commit()
    assert rev != tx
    assert db.get(service.LedgerAccount, a_acc).balance == 500
    try:
        service.reverse(db, tx, initiated_by=None)
        raise AssertionError("second reversal accepted")
    except AppError as exc:
        assert exc.code == "already_reversed"
    db.rollback()


def test_unbalanced_postings_refused_by_the_database(db, funded):
    import pytest

    from api.core.errors import AppError
    from api.wallet import service

    _, a = funded(100)
    _, b = funded(0)
    with pytest.raises(AppError) as err:
        service.post(db, "bad", [service.Posting(a, -10), service.Posting(b, 9)])
    assert err.value.code == "unbalanced_transaction"
    db.rollback()
    with pytest.raises(AppError) as err:
        service.post(db, "bad", [service.Posting(a, -10)])
    assert err.value.code == "invalid_postings"
    db.rollback()
