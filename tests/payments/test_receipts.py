"""Payment receipts and refund notices go to the outbox with the posting that caused them."""

from __future__ import annotations

from sqlalchemy import select

from api.notifications.models import OutboxMessage
from api.payments.receipts import format_money
from tests.payments.test_payments import P, _card, _pay


def _messages(db, user_id, category):
    db.expire_all()
    return list(db.scalars(select(OutboxMessage).where(
        OutboxMessage.user_id == user_id, OutboxMessage.category == category)))


def test_capture_sends_a_receipt_and_a_refund_sends_a_notice(client, funded, auth_headers, idem, db):
    payer, _ = funded(0)
    seller, _ = funded(0, roles=["seller"])
    h = auth_headers(payer)
    r = _pay(client, h, idem, amount=12_345, currency="USD", payment_method_id=_card(client, h),
             payee_user_id=seller.id, confirm=True)
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text
    [receipt] = _messages(db, payer.id, "payments.receipt")
    assert receipt.channel == "email" and receipt.recipient == payer.email
    assert "123.45 USD" in receipt.subject and receipt.payload["intent_id"] == r.json()["id"]
    assert _messages(db, payer.id, "payments.refund") == []

    # The payee refunds part of it; the notice goes to the payer whose money comes back.
    r = client.post(f"{P}/intents/{r.json()['id']}/refunds",
                    headers={**auth_headers(seller), **idem()}, json={"amount": 45})
    assert r.status_code == 201, r.text
    [notice] = _messages(db, payer.id, "payments.refund")
    assert "0.45 USD" in notice.subject and notice.payload["amount"] == 45


def test_a_declined_payment_sends_no_receipt(client, funded, auth_headers, idem, db):
    payer, _ = funded(0)
    h = auth_headers(payer)
    r = _pay(client, h, idem, amount=5_000, currency="USD",
             payment_method_id=_card(client, h, "4000000000000002"), confirm=True)
    assert r.status_code == 402
    assert _messages(db, payer.id, "payments.receipt") == []


def test_format_money_uses_the_currency_exponent_without_floats():
    assert format_money(123456, "EUR") == "1234.56 EUR"
    assert format_money(5, "USD") == "0.05 USD"
    assert format_money(1500, "JPY") == "1500 JPY"
    assert format_money(1234, "KWD") == "1.234 KWD"
    assert format_money(-250, "USD") == "-2.50 USD"
