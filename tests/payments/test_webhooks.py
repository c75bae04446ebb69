"""Provider webhooks (HMAC-verified, deduplicated, idempotent) and reconciliation of payments
stuck in processing."""

from __future__ import annotations

import json
import time
from datetime import timedelta

from sqlalchemy import text

from tests.payments.test_payments import TIMEOUT, _card, _pay, _wallet_balance
from tests.wallet.conftest import ledger_snapshot

P = "/api/v1/payments"


def _provider():
    from api.payments.provider import get_provider

    return get_provider("simulated")


def _processing_intent(client, funded, auth_headers, idem):
    user, _ = funded(0)
    h = auth_headers(user)
    r = _pay(client, h, idem, amount=2_000, currency="USD", payment_method_id=_card(client, h, TIMEOUT),
             confirm=True)
    assert r.status_code == 202 and r.json()["status"] == "processing", r.text
    return user, r.json()["id"]


def test_timeout_then_late_success_by_webhook_processed_once(client, funded, auth_headers, idem, db):
    user, iid = _processing_intent(client, funded, auth_headers, idem)
    assert _wallet_balance(db, user.id) == 0
    body, headers = _provider().make_event("payment.succeeded", f"pi_sim_{iid}")
    r = client.post(f"{P}/webhooks/simulated", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "processed", r.text
    credited = _wallet_balance(db, user.id)
    assert credited == 2_000 - (58 + 30)
    before = ledger_snapshot(db)
    # The same event again is deduplicated; a new event for the same payment changes nothing.
    r = client.post(f"{P}/webhooks/simulated", content=body, headers=headers)
    assert r.json()["status"] == "duplicate"
    body2, headers2 = _provider().make_event("payment.succeeded", f"pi_sim_{iid}")
    r = client.post(f"{P}/webhooks/simulated", content=body2, headers=headers2)
    assert r.json()["outcome"].startswith("ignored")
    assert ledger_snapshot(db) == before
    assert _wallet_balance(db, user.id) == credited


def test_forged_and_replayed_webhooks_are_refused(client, funded, auth_headers, idem, db):
    user, iid = _processing_intent(client, funded, auth_headers, idem)
    before = ledger_snapshot(db)
    body, headers = _provider().make_event("payment.succeeded", f"pi_sim_{iid}")
    forged = json.dumps({**json.loads(body), "data": {"ref": f"pi_sim_{iid}"}, "id": "evt_x"}).encode()
    r = client.post(f"{P}/webhooks/simulated", content=forged, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_signature_invalid"
    r = client.post(f"{P}/webhooks/simulated", content=body,
                    headers={"EHB-Signature": "t=1,v1=deadbeef"})
    assert r.status_code == 400
    r = client.post(f"{P}/webhooks/simulated", content=body)
    assert r.status_code == 400
    old_body, old_headers = _provider().make_event("payment.succeeded", f"pi_sim_{iid}",
                                                   timestamp=int(time.time()) - 3_600)
    r = client.post(f"{P}/webhooks/simulated", content=old_body, headers=old_headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_expired"
    r = client.post(f"{P}/webhooks/nope", content=body, headers=headers)
    assert r.status_code == 404
    assert ledger_snapshot(db) == before
    assert db.execute(text("SELECT status FROM payment_intents WHERE id = :i"), {"i": iid}).scalar() \
        == "processing"


def test_reconcile_settles_stuck_processing_payments(client, funded, auth_headers, idem, db, make_user):
    from api.db import new_session
    from api.payments.service import reconcile_processing

    user, iid = _processing_intent(client, funded, auth_headers, idem)
    with new_session() as s:
        # Fresh processing payments are left alone.
        assert reconcile_processing(s, older_than=timedelta(minutes=10))["checked"] == 0
    db.execute(text("UPDATE payment_intents SET status_changed_at = now() - interval '1 hour' "
                    "WHERE id = :i"), {"i": iid})
    db.commit()
    admin, _ = make_user(roles=["admin"])
    r = client.post(f"{P}/reconcile", headers=auth_headers(admin))
    assert r.status_code == 200 and r.json()["succeeded"] >= 1
    assert client.get(f"{P}/intents/{iid}", headers=auth_headers(user)).json()["status"] == "succeeded"
    assert client.post(f"{P}/reconcile", headers=auth_headers(user)).status_code == 403
