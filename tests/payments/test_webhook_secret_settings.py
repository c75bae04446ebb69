"""With a real webhook secret configured (in `.env`, as production sets it), a webhook signed
with the public development secret is refused and changes nothing; one signed with the real
secret is processed."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid

from sqlalchemy import func, select, text

from api.payments.models import WebhookEvent
from tests.dotenv import STRONG, dotenv_only  # noqa: F401
from tests.payments.test_webhooks import P, _processing_intent
from tests.wallet.conftest import ledger_snapshot


def _signed(secret: str, ref: str) -> tuple[bytes, dict[str, str]]:
    body = json.dumps({"id": f"evt_{uuid.uuid4().hex}", "type": "payment.succeeded",
                       "data": {"ref": ref}}).encode()
    ts = int(time.time())
    mac = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    return body, {"EHB-Signature": f"t={ts},v1={mac}", "Content-Type": "application/json"}


def test_dev_signed_webhook_is_refused_when_a_real_secret_is_configured(
        client, funded, auth_headers, idem, db, dotenv_only):
    from api.payments.settings import DEV_WEBHOOK_SECRET, get_payments_settings

    user, iid = _processing_intent(client, funded, auth_headers, idem)
    real = STRONG["PAYMENTS_WEBHOOK_SECRET"]
    dotenv_only({"PAYMENTS_WEBHOOK_SECRET": real})
    assert get_payments_settings().webhook_secret.get_secret_value() == real

    events = lambda: db.scalar(select(func.count()).select_from(WebhookEvent))  # noqa: E731
    before, events_before = ledger_snapshot(db), events()
    body, headers = _signed(DEV_WEBHOOK_SECRET, f"pi_sim_{iid}")
    r = client.post(f"{P}/webhooks/simulated", content=body, headers=headers)
    assert r.status_code == 400 and r.json()["error"]["code"] == "webhook_signature_invalid"
    db.expire_all()
    assert ledger_snapshot(db) == before and events() == events_before
    assert db.execute(text("SELECT status FROM payment_intents WHERE id = :i"),
                      {"i": iid}).scalar() == "processing"

    body, headers = _signed(real, f"pi_sim_{iid}")  # the provider's own event goes through
    r = client.post(f"{P}/webhooks/simulated", content=body, headers=headers)
    assert r.status_code == 200 and r.json()["status"] == "processed", r.text
