"""Payment service functions: methods, intents (authorize, capture, cancel), refunds, provider
webhooks and reconciliation. Every movement of money is a ledger posting through a clearing
account (wallet.service.post); fees go to the fee account.

Intent states: requires_payment_method -> processing -> requires_capture (manual capture) ->
succeeded, or processing -> failed, or -> canceled before capture.

An intent with a `payee_account` (an escrow system account, models.ESCROW_ACCOUNTS) captures
into that account instead of the payee's wallet: GoSeller orders are paid this way, and the
money waits in escrow until the seller's payout or the order's refund. Such an intent carries
no payment fee (the money stays inside the platform; the escrow's owner charges its own fee
when it releases the money), is refunded only by that owner, never through the API, and
sends no payment receipt or refund notice (the owner writes its own, e.g. the order receipt).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.auth.models import User
from api.core.errors import AppError, Conflict, NotFound, Unprocessable
from api.payments import receipts
from api.payments.models import ESCROW_ACCOUNTS, PaymentIntent, PaymentMethod, Refund, WebhookEvent
from api.payments.provider import ProviderTimeout, get_provider
from api.payments.settings import get_payments_settings
from api.wallet import service as ledger
from api.wallet.currencies import check_amount, check_currency
from api.wallet.service import Posting

log = logging.getLogger("ehb.payments")
STAFF = {"admin", "support"}


class PaymentDeclined(AppError):
    status_code, code = 402, "card_declined"


# ---- methods --------------------------------------------------------------------------------

def add_card(session: Session, user_id: int, number: str, exp_month: int, exp_year: int) -> PaymentMethod:
    """The number goes to the provider's tokenizer only; we keep token, fingerprint, last4."""
    card = get_provider("simulated").tokenize_card(number, exp_month, exp_year)
    method = PaymentMethod(user_id=user_id, kind="card", card_token=card.token,
                           card_fingerprint=card.fingerprint, card_brand=card.brand,
                           last4=card.last4)
    session.add(method)
    session.commit()
    return method


def add_bank_account(session: Session, user_id: int, account_number: str, routing: str) -> PaymentMethod:
    digits = account_number.replace(" ", "")
    if not (digits.isalnum() and 6 <= len(digits) <= 34):
        raise Unprocessable("bank account number is not valid", code="invalid_bank_account")
    method = PaymentMethod(user_id=user_id, kind="bank_account", bank_account_number=digits,
                           bank_routing=routing, last4=digits[-4:])
    session.add(method)
    session.commit()
    return method


def wallet_method(session: Session, user_id: int) -> PaymentMethod:
    """The user's wallet-balance method, made on first use (not committed). The partial unique
    index keeps it one per user even when two first payments race."""
    session.execute(insert(PaymentMethod).values(user_id=user_id, kind="wallet")
                    .on_conflict_do_nothing(index_elements=["user_id"],
                                            # literal, like the index (see goseller.orders)
                                            index_where=text("kind = 'wallet' AND is_active")))
    return session.scalars(select(PaymentMethod).where(
        PaymentMethod.user_id == user_id, PaymentMethod.kind == "wallet",
        PaymentMethod.is_active)).one()


def add_wallet_method(session: Session, user_id: int) -> PaymentMethod:
    method = wallet_method(session, user_id)
    session.commit()
    return method


def list_methods(session: Session, user_id: int) -> list[PaymentMethod]:
    return list(session.scalars(select(PaymentMethod).where(
        PaymentMethod.user_id == user_id, PaymentMethod.is_active).order_by(PaymentMethod.id)))


def _own_method(session: Session, user_id: int, method_id: int) -> PaymentMethod:
    method = session.get(PaymentMethod, method_id)
    if method is None or method.user_id != user_id or not method.is_active:
        raise NotFound("payment method not found", code="payment_method_not_found")
    return method


# ---- intents --------------------------------------------------------------------------------

def fee_for(amount: int) -> int:
    """The payment fee on a capture of `amount` (escrow captures pay none: see the module doc)."""
    cfg = get_payments_settings()
    return min(amount, (amount * cfg.fee_bps + 5_000) // 10_000 + cfg.fee_fixed)


def _set_status(intent: PaymentIntent, status: str) -> None:
    intent.status = status
    intent.status_changed_at = datetime.now(UTC)


def _recipient_id(intent: PaymentIntent) -> int:
    return intent.payee_user_id or intent.user_id


def _recipient_account(session: Session, intent: PaymentIntent):
    """Where the captured money goes: the escrow account if the intent names one, else the
    payee's wallet (the payer's own wallet for a top-up)."""
    if intent.payee_account:
        return ledger.system_account(session, intent.payee_account, intent.currency)
    return ledger.wallet_of(session, _recipient_id(intent), intent.currency)


def load_intent(session: Session, intent_id: int, *, viewer_id: int, roles: frozenset[str],
                lock: bool = False) -> PaymentIntent:
    query = select(PaymentIntent).where(PaymentIntent.id == intent_id)
    if lock:
        query = query.with_for_update()
    intent = session.scalars(query).first()
    if intent is None or (viewer_id not in (intent.user_id, intent.payee_user_id)
                          and not (STAFF & roles)):
        raise NotFound("payment intent not found", code="intent_not_found")
    return intent


def create_intent(session: Session, *, user_id: int, amount: int, currency: str,
                  payee_user_id: int | None = None, payment_method_id: int | None = None,
                  capture_method: str = "automatic", description: str = "",
                  payee_account: str | None = None) -> PaymentIntent:
    """A new intent (not committed); confirm it with a payment method to charge. With
    `payee_account` (service callers only, never the API) the capture is held in that escrow
    account for `payee_user_id`."""
    check_amount(amount)
    check_currency(currency)
    if capture_method not in ("automatic", "manual"):
        raise Unprocessable("capture_method is automatic or manual", code="invalid_capture_method")
    if payee_user_id is not None:
        if payee_user_id == user_id:
            raise Unprocessable("cannot pay yourself; omit payee_user_id to top up your wallet",
                                code="payment_to_self")
        if session.get(User, payee_user_id) is None:
            raise NotFound("payee not found", code="payee_not_found")
    if payee_account is not None:
        if payee_account not in ESCROW_ACCOUNTS or payee_user_id is None:
            raise ValueError(f"escrow account {payee_account!r} needs a payee and one of "
                             f"{ESCROW_ACCOUNTS}")
    else:  # the payee's wallet receives the capture, so it must exist now
        ledger.wallet_of(session, payee_user_id or user_id, currency,
                         role="your" if payee_user_id is None else "the payee's")
    if payment_method_id is not None:
        _own_method(session, user_id, payment_method_id)
    intent = PaymentIntent(user_id=user_id, payee_user_id=payee_user_id, amount=amount,
                           currency=currency, capture_method=capture_method,
                           payment_method_id=payment_method_id, description=description,
                           payee_account=payee_account, status="requires_payment_method")
    session.add(intent)
    session.flush()
    intent.provider_ref = f"pi_sim_{intent.id}"
    return intent


def confirm(session: Session, intent: PaymentIntent, payment_method_id: int | None = None) -> PaymentIntent:
    """Authorize (and, for automatic capture, capture). Not committed. A decline marks the
    intent failed and raises PaymentDeclined after the caller commits that state."""
    if intent.status != "requires_payment_method":
        raise Conflict(f"intent is {intent.status}; only an intent requiring a payment method "
                       "can be confirmed", code="invalid_state")
    method_id = payment_method_id or intent.payment_method_id
    if method_id is None:
        raise Unprocessable("a payment method is required to confirm", code="payment_method_required")
    method = _own_method(session, intent.user_id, method_id)
    intent.payment_method_id = method.id
    if method.kind == "wallet":
        if intent.payee_user_id is None:
            raise Unprocessable("a wallet cannot top itself up", code="invalid_payment_method")
        payer = ledger.wallet_of(session, intent.user_id, intent.currency)
        hold = ledger.system_account(session, "wallet_clearing", intent.currency)
        # Insufficient funds raise here: nothing posted, the intent unchanged.
        intent.authorization_tx_id = ledger.post(
            session, "payment_authorization",
            [Posting(payer.id, -intent.amount), Posting(hold.id, intent.amount)],
            initiated_by=intent.user_id, details={"intent_id": intent.id})
        _set_status(intent, "processing")
        _authorized(session, intent)
        return intent
    _set_status(intent, "processing")
    source = method.card_token if method.kind == "card" else f"bank:{method.id}"
    try:
        result = get_provider(intent.provider).authorize(intent.provider_ref, source,
                                                         intent.amount, intent.currency)
    except ProviderTimeout:
        log.warning("provider timeout on intent %s: left processing for reconciliation", intent.id)
        return intent
    if result.status == "authorized":
        _authorized(session, intent)
    elif result.status == "declined":
        intent.failure_code = result.code
        _set_status(intent, "failed")
    return intent  # pending: a webhook or the reconcile job finishes it


def _authorized(session: Session, intent: PaymentIntent) -> None:
    if intent.capture_method == "automatic":
        _capture(session, intent, intent.amount)
    else:
        _set_status(intent, "requires_capture")


def _capture(session: Session, intent: PaymentIntent, amount: int) -> None:
    method = session.get(PaymentMethod, intent.payment_method_id)
    recipient = _recipient_account(session, intent)
    fee = 0 if intent.payee_account else fee_for(amount)
    fees = ledger.system_account(session, "fees", intent.currency)
    if method.kind == "wallet":
        hold = ledger.system_account(session, "wallet_clearing", intent.currency)
        payer = ledger.wallet_of(session, intent.user_id, intent.currency)
        postings = [Posting(hold.id, -intent.amount), Posting(recipient.id, amount - fee)]
        if intent.amount > amount:  # partial capture releases the rest to the payer
            postings.append(Posting(payer.id, intent.amount - amount))
    else:
        get_provider(intent.provider).capture(intent.provider_ref, amount)
        clearing = ledger.system_account(session, "clearing", intent.currency)
        postings = [Posting(clearing.id, -amount), Posting(recipient.id, amount - fee)]
    if fee:
        postings.append(Posting(fees.id, fee))
    postings = [p for p in postings if p.amount]
    intent.capture_tx_id = ledger.post(session, "payment_capture", postings,
                                       initiated_by=intent.user_id,
                                       details={"intent_id": intent.id, "fee": fee})
    intent.amount_captured = amount
    intent.fee_amount = fee
    _set_status(intent, "succeeded")
    if not intent.payee_account:  # the escrow's owner sends its own (order) receipt
        receipts.send_receipt(session, intent)


def capture(session: Session, intent: PaymentIntent, amount: int | None = None) -> PaymentIntent:
    if intent.status != "requires_capture":
        raise Conflict(f"intent is {intent.status}; only an authorized intent can be captured",
                       code="invalid_state")
    amount = intent.amount if amount is None else check_amount(amount)
    if amount > intent.amount:
        raise Unprocessable(f"cannot capture {amount}: only {intent.amount} was authorized",
                            code="capture_exceeds_authorized")
    _capture(session, intent, amount)
    return intent


def cancel(session: Session, intent: PaymentIntent) -> PaymentIntent:
    if intent.status not in ("requires_payment_method", "requires_capture"):
        raise Conflict(f"intent is {intent.status} and can no longer be canceled",
                       code="invalid_state")
    if intent.status == "requires_capture":
        method = session.get(PaymentMethod, intent.payment_method_id)
        if method.kind == "wallet":
            hold = ledger.system_account(session, "wallet_clearing", intent.currency)
            payer = ledger.wallet_of(session, intent.user_id, intent.currency)
            ledger.post(session, "payment_release", [Posting(hold.id, -intent.amount),
                                                      Posting(payer.id, intent.amount)],
                        details={"intent_id": intent.id})
        else:
            get_provider(intent.provider).void(intent.provider_ref)
    _set_status(intent, "canceled")
    return intent


def refund(session: Session, intent: PaymentIntent, amount: int | None, reason: str = "", *,
           escrow_owner: bool = False) -> Refund:
    """Partial or full; the total refunded never exceeds what was captured. Not committed.
    An escrow intent is refunded only by its owner (escrow_owner=True, e.g. GoSeller on an
    order's cancel or return): a refund through the API would unbalance the order's books."""
    if intent.payee_account and not escrow_owner:
        raise Conflict("this payment is held in escrow for an order; cancel or return the "
                       "order to refund it", code="refund_through_order",
                       details={"payee_account": intent.payee_account})
    if intent.status != "succeeded":
        raise Conflict(f"intent is {intent.status}; only a succeeded payment can be refunded",
                       code="invalid_state")
    refundable = intent.amount_captured - intent.amount_refunded
    amount = refundable if amount is None else check_amount(amount)
    if amount > refundable:
        raise Unprocessable(f"refund of {amount} exceeds the {refundable} still refundable "
                            f"(captured {intent.amount_captured}, refunded {intent.amount_refunded})",
                            code="refund_exceeds_captured")
    method = session.get(PaymentMethod, intent.payment_method_id)
    recipient = _recipient_account(session, intent)
    if method.kind == "wallet":
        hold = ledger.system_account(session, "wallet_clearing", intent.currency)
        payer = ledger.wallet_of(session, intent.user_id, intent.currency)
        postings = [Posting(recipient.id, -amount), Posting(hold.id, amount),
                    Posting(hold.id, -amount), Posting(payer.id, amount)]
    else:
        clearing = ledger.system_account(session, "clearing", intent.currency)
        postings = [Posting(recipient.id, -amount), Posting(clearing.id, amount)]
    tx = ledger.post(session, "payment_refund", postings, details={"intent_id": intent.id})
    if method.kind != "wallet":
        get_provider(intent.provider).refund(intent.provider_ref, amount)
    intent.amount_refunded += amount
    if not intent.payee_account:
        receipts.send_refund_notice(session, intent, amount)
    row = Refund(intent_id=intent.id, amount=amount, ledger_transaction_id=tx, reason=reason)
    session.add(row)
    session.flush()
    return row


# ---- provider webhooks and reconciliation ---------------------------------------------------

def _apply_provider_status(session: Session, intent: PaymentIntent, status: str) -> str:
    """Idempotent: only a processing intent changes."""
    if intent.status != "processing":
        return f"ignored: intent already {intent.status}"
    if status == "succeeded":
        _authorized(session, intent)
    elif status == "failed":
        intent.failure_code = intent.failure_code or "provider_failed"
        _set_status(intent, "failed")
    else:
        return "ignored: still pending"
    return f"intent {intent.status}"


def handle_webhook(session: Session, provider_name: str, body: bytes,
                   headers: dict[str, str]) -> dict[str, Any]:
    """Verify (HMAC + timestamp), deduplicate by event id, apply once. Commits."""
    provider = get_provider(provider_name)
    event = provider.verify_webhook(body, headers)
    inserted = session.execute(insert(WebhookEvent).values(
        provider=provider_name, event_id=event["id"], event_type=event["type"], payload=event,
    ).on_conflict_do_nothing(constraint="uq_payment_webhook_events_event")
        .returning(WebhookEvent.id)).scalar()
    if inserted is None:
        session.rollback()
        return {"event_id": event["id"], "status": "duplicate"}
    intent = session.scalars(select(PaymentIntent).where(
        PaymentIntent.provider_ref == event["data"]["ref"]).with_for_update()).first()
    if intent is None:
        outcome = "ignored: unknown payment"
    elif event["type"] == "payment.succeeded":
        outcome = _apply_provider_status(session, intent, "succeeded")
    elif event["type"] == "payment.failed":
        outcome = _apply_provider_status(session, intent, "failed")
    else:
        outcome = f"ignored: event type {event['type']}"
    session.execute(WebhookEvent.__table__.update().where(WebhookEvent.id == inserted)
                    .values(outcome=outcome))
    session.commit()
    return {"event_id": event["id"], "status": "processed", "outcome": outcome}


def reconcile_processing(session: Session, *, older_than: timedelta | None = None,
                         now: datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Ask the provider about payments stuck in processing and settle them (a job calls this).
    Each intent is its own transaction; locked rows are skipped, so runs may overlap."""
    older_than = older_than or timedelta(seconds=get_payments_settings().processing_timeout_seconds)
    cutoff = (now or datetime.now(UTC)) - older_than
    counts = {"checked": 0, "succeeded": 0, "failed": 0, "still_processing": 0}
    ids = session.scalars(select(PaymentIntent.id).where(
        PaymentIntent.status == "processing", PaymentIntent.status_changed_at < cutoff)
        .order_by(PaymentIntent.id).limit(limit)).all()
    session.rollback()
    for intent_id in ids:
        intent = session.scalars(select(PaymentIntent).where(
            PaymentIntent.id == intent_id, PaymentIntent.status == "processing")
            .with_for_update(skip_locked=True)).first()
        if intent is None:
            session.rollback()
            continue
        counts["checked"] += 1
        method = session.get(PaymentMethod, intent.payment_method_id)
        source = method.card_token if method.kind == "card" else f"bank:{method.id}"
        status = get_provider(intent.provider).retrieve(intent.provider_ref, source)
        try:
            _apply_provider_status(session, intent, status)
            session.commit()
        except AppError as exc:
            session.rollback()
            log.warning("reconcile of intent %s refused: %s", intent_id, exc.message)
            continue
        key = intent.status if intent.status in counts else "still_processing"
        counts[key if intent.status != "requires_capture" else "succeeded"] += 1
    return counts
