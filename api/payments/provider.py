"""The provider interface and the built-in simulated provider.

Outcomes are deterministic by test card number (like a real provider's test mode):
    4242424242424242  succeeds
    4000000000000002  declined (card_declined)
    4000000000009995  declined (insufficient_funds)
    4000000000000259  times out on authorization, then succeeds late (webhook / reconcile)
Any other Luhn-valid number succeeds. Bank debits are asynchronous: they stay processing and
succeed late, like the timeout card. Webhooks are signed `t=<unix>,v1=<hex HMAC-SHA256 of
"<t>.<body>">` in the `EHB-Signature` header with PAYMENTS_WEBHOOK_SECRET.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass
from typing import Any, Protocol

from api.core.errors import AppError, Unprocessable
from api.payments.settings import get_payments_settings

SIGNATURE_HEADER = "EHB-Signature"

TEST_CARDS = {
    "4242424242424242": "succeed",
    "4000000000000002": "card_declined",
    "4000000000009995": "insufficient_funds",
    "4000000000000259": "timeout_then_succeed",
}


class ProviderTimeout(Exception):
    """The provider did not answer: the payment's outcome is unknown until reconciled."""


@dataclass(frozen=True)
class CardToken:
    token: str
    fingerprint: str
    last4: str
    brand: str


@dataclass(frozen=True)
class AuthResult:
    status: str  # authorized | declined | pending
    code: str | None = None


class Provider(Protocol):
    name: str

    def tokenize_card(self, number: str, exp_month: int, exp_year: int) -> CardToken: ...
    def authorize(self, ref: str, source: str, amount: int, currency: str) -> AuthResult: ...
    def capture(self, ref: str, amount: int) -> None: ...
    def void(self, ref: str) -> None: ...
    def refund(self, ref: str, amount: int) -> None: ...
    def retrieve(self, ref: str, source: str) -> str: ...
    def verify_webhook(self, body: bytes, headers: dict[str, str]) -> dict[str, Any]: ...


def luhn_ok(number: str) -> bool:
    digits = [int(d) for d in number][::-1]
    total = sum(d if i % 2 == 0 else (d * 2 - 9 if d * 2 > 9 else d * 2) for i, d in enumerate(digits))
    return total % 10 == 0


class WebhookRefused(AppError):
    status_code, code = 400, "webhook_signature_invalid"


class SimulatedProvider:
    name = "simulated"

    def _secret(self) -> bytes:
        return get_payments_settings().webhook_secret.get_secret_value().encode()

    # -- cards ---------------------------------------------------------------------------
    def tokenize_card(self, number: str, exp_month: int, exp_year: int) -> CardToken:
        number = number.replace(" ", "")
        if not (number.isdigit() and 12 <= len(number) <= 19 and luhn_ok(number)):
            raise Unprocessable("card number is not valid", code="invalid_card_number")
        if not 1 <= exp_month <= 12 or (exp_year, exp_month) < time.gmtime()[:2]:
            raise Unprocessable("card is expired or the expiry is not valid", code="card_expired")
        behaviour = TEST_CARDS.get(number, "succeed")
        # The token is the provider's opaque handle; the simulator encodes its test behaviour.
        token = f"tok_sim_{behaviour}_{uuid.uuid4().hex[:16]}"
        fingerprint = hmac.new(self._secret(), b"card:" + number.encode(), hashlib.sha256).hexdigest()
        brand = {"4": "visa", "5": "mastercard", "3": "amex"}.get(number[0], "card")
        return CardToken(token, fingerprint, number[-4:], brand)

    @staticmethod
    def _behaviour(source: str) -> str:
        if source.startswith("bank:"):
            return "timeout_then_succeed"
        for behaviour in ("card_declined", "insufficient_funds", "timeout_then_succeed", "succeed"):
            if source.startswith(f"tok_sim_{behaviour}_"):
                return behaviour
        return "card_declined"  # unknown token

    def authorize(self, ref: str, source: str, amount: int, currency: str) -> AuthResult:
        behaviour = self._behaviour(source)
        if behaviour == "succeed":
            return AuthResult("authorized")
        if behaviour == "timeout_then_succeed":
            if source.startswith("bank:"):
                return AuthResult("pending")
            raise ProviderTimeout(ref)
        return AuthResult("declined", behaviour)

    def capture(self, ref: str, amount: int) -> None:
        return None

    def void(self, ref: str) -> None:
        return None

    def refund(self, ref: str, amount: int) -> None:
        return None

    def retrieve(self, ref: str, source: str) -> str:
        """The charge's status at the provider: late successes have succeeded by now."""
        behaviour = self._behaviour(source)
        return "succeeded" if behaviour in ("succeed", "timeout_then_succeed") else "failed"

    # -- webhooks --------------------------------------------------------------------------
    def sign(self, body: bytes, timestamp: int | None = None) -> str:
        ts = int(time.time()) if timestamp is None else timestamp
        mac = hmac.new(self._secret(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        return f"t={ts},v1={mac}"

    def make_event(self, event_type: str, ref: str, *, timestamp: int | None = None,
                   event_id: str | None = None) -> tuple[bytes, dict[str, str]]:
        """What the provider would POST to /payments/webhooks/simulated (used by tests and
        the simulator)."""
        body = json.dumps({"id": event_id or f"evt_{uuid.uuid4().hex}", "type": event_type,
                           "data": {"ref": ref}}).encode()
        return body, {SIGNATURE_HEADER: self.sign(body, timestamp),
                      "Content-Type": "application/json"}

    def verify_webhook(self, body: bytes, headers: dict[str, str]) -> dict[str, Any]:
        header = {k.lower(): v for k, v in headers.items()}.get(SIGNATURE_HEADER.lower(), "")
        parts = dict(p.split("=", 1) for p in header.split(",") if "=" in p)
        try:
            ts = int(parts.get("t", ""))
        except ValueError:
            raise WebhookRefused("missing or malformed webhook signature") from None
        expected = hmac.new(self._secret(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, parts.get("v1", "")):
            raise WebhookRefused("webhook signature does not match")
        if abs(time.time() - ts) > get_payments_settings().webhook_tolerance_seconds:
            raise WebhookRefused("webhook timestamp is outside the tolerance (replayed?)",
                                 code="webhook_expired")
        try:
            event = json.loads(body)
            assert isinstance(event["id"], str) and isinstance(event["type"], str)
            assert isinstance(event["data"]["ref"], str)
        except (ValueError, KeyError, TypeError, AssertionError):
            raise Unprocessable("webhook body is not a valid event", code="invalid_event") from None
        return event


PROVIDERS: dict[str, Provider] = {"simulated": SimulatedProvider()}


def get_provider(name: str) -> Provider:
    provider = PROVIDERS.get(name)
    if provider is None:
        from api.core.errors import NotFound

        raise NotFound(f"unknown payment provider '{name}'", code="unknown_provider")
    return provider
