"""/api/v1/payments: methods, intents (Idempotency-Key on every money-moving POST), refunds,
and the provider webhook POST /payments/webhooks/{provider} (public, HMAC-verified)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.auth.dependencies import Principal, require
from api.core.errors import Forbidden, error_body
from api.deps import SessionDep
from api.payments import service
from api.payments.models import PaymentIntent
from api.payments.permissions import PAYMENTS_ADMIN, PAYMENTS_PAY, PAYMENTS_READ, PAYMENTS_REFUND
from api.payments.schemas import (BankAccountIn, CaptureIn, CardIn, ConfirmIn, IntentIn,
                                  IntentOut, MethodOut, RefundIn, RefundOut)
from api.wallet.idempotency import run_idempotent
from api.validation import Id
from api.wallet.router import replayable

router = APIRouter(prefix="/payments", tags=["payments"])

IdemKey = Annotated[str | None, Header(alias="Idempotency-Key")]
Payer = Annotated[Principal, Depends(require(PAYMENTS_PAY))]


def _intent_json(intent: PaymentIntent) -> dict[str, Any]:
    return IntentOut.model_validate(intent).model_dump(mode="json")


def _outcome(session: Session, intent: PaymentIntent, created: bool = False) -> tuple[int, Any]:
    session.flush()
    session.refresh(intent)
    if intent.status == "failed":
        return 402, error_body(intent.failure_code or "card_declined",
                               "the payment was declined", {"intent": _intent_json(intent)})
    if intent.status == "processing":
        return 202, _intent_json(intent)
    return (201 if created else 200), _intent_json(intent)


def _idempotent(session: Session, principal: Principal, key: str | None, scope: str,
                payload: Any, work) -> JSONResponse:
    return replayable(run_idempotent(session, owner=f"user:{principal.user_id}", key=key,
                                     scope=scope, payload=payload, work=work))


# ---- methods --------------------------------------------------------------------------------

@router.post("/methods/cards", status_code=201, response_model=MethodOut, summary="Add a card")
def add_card(body: CardIn, session: SessionDep, principal: Payer):
    return service.add_card(session, principal.user_id, body.number, body.exp_month, body.exp_year)


@router.post("/methods/bank-accounts", status_code=201, response_model=MethodOut,
             summary="Add a bank account (number stored encrypted)")
def add_bank_account(body: BankAccountIn, session: SessionDep, principal: Payer):
    return service.add_bank_account(session, principal.user_id, body.account_number, body.routing)


@router.post("/methods/wallet", status_code=201, response_model=MethodOut,
             summary="Use my wallet balance as a payment method")
def add_wallet_method(session: SessionDep, principal: Payer):
    return service.add_wallet_method(session, principal.user_id)


@router.get("/methods", response_model=list[MethodOut], summary="My payment methods")
def list_methods(session: SessionDep, principal: Annotated[Principal, Depends(require(PAYMENTS_READ))]):
    return service.list_methods(session, principal.user_id)


# ---- intents --------------------------------------------------------------------------------

@router.post("/intents", status_code=201, response_model=IntentOut,
             summary="Create (and optionally confirm) a payment intent; Idempotency-Key required")
def create_intent(body: IntentIn, session: SessionDep, principal: Payer,
                  idempotency_key: IdemKey = None):
    def work():
        intent = service.create_intent(
            session, user_id=principal.user_id, amount=body.amount, currency=body.currency,
            payee_user_id=body.payee_user_id, payment_method_id=body.payment_method_id,
            capture_method=body.capture_method, description=body.description)
        if body.confirm:
            service.confirm(session, intent)
        return _outcome(session, intent, created=True)

    return _idempotent(session, principal, idempotency_key, "payments.create", body.model_dump(), work)


@router.get("/intents", response_model=list[IntentOut], summary="My payments (paid or received)")
def list_intents(session: SessionDep, principal: Annotated[Principal, Depends(require(PAYMENTS_READ))]):
    return list(session.scalars(select(PaymentIntent).where(or_(
        PaymentIntent.user_id == principal.user_id, PaymentIntent.payee_user_id == principal.user_id))
        .order_by(PaymentIntent.id.desc()).limit(200)))


@router.get("/intents/{intent_id}", response_model=IntentOut, summary="One payment intent")
def get_intent(intent_id: Id, session: SessionDep,
               principal: Annotated[Principal, Depends(require(PAYMENTS_READ))]):
    return service.load_intent(session, intent_id, viewer_id=principal.user_id, roles=principal.roles)


def _action(session: Session, principal: Principal, intent_id: int, key: str | None,
            name: str, payload: Any, act) -> JSONResponse:
    def work():
        intent = service.load_intent(session, intent_id, viewer_id=principal.user_id,
                                     roles=principal.roles, lock=True)
        result = act(intent)  # a (status, body) answer, or None to answer with the intent
        return result if result is not None else _outcome(session, intent)

    return _idempotent(session, principal, key, f"payments.{name}:{intent_id}", payload, work)


@router.post("/intents/{intent_id}/confirm", response_model=IntentOut,
             summary="Confirm with a payment method (authorize; capture if automatic)")
def confirm(intent_id: Id, body: ConfirmIn, session: SessionDep, principal: Payer,
            idempotency_key: IdemKey = None):
    def act(intent):
        if intent.user_id != principal.user_id:
            raise Forbidden("only the payer confirms a payment", code="not_payer")
        service.confirm(session, intent, body.payment_method_id)

    return _action(session, principal, intent_id, idempotency_key, "confirm", body.model_dump(), act)


@router.post("/intents/{intent_id}/capture", response_model=IntentOut,
             summary="Capture an authorized payment, fully or partly")
def capture(intent_id: Id, body: CaptureIn, session: SessionDep, principal: Payer,
            idempotency_key: IdemKey = None):
    def act(intent):
        service.capture(session, intent, body.amount)

    return _action(session, principal, intent_id, idempotency_key, "capture", body.model_dump(), act)


@router.post("/intents/{intent_id}/cancel", response_model=IntentOut,
             summary="Cancel before capture (releases held funds)")
def cancel(intent_id: Id, session: SessionDep, principal: Payer, idempotency_key: IdemKey = None):
    def act(intent):
        service.cancel(session, intent)

    return _action(session, principal, intent_id, idempotency_key, "cancel", {}, act)


@router.post("/intents/{intent_id}/refunds", status_code=201, response_model=RefundOut,
             summary="Refund part or all of what was captured (payee or support)")
def refund(intent_id: Id, body: RefundIn, session: SessionDep,
           principal: Annotated[Principal, Depends(require(PAYMENTS_REFUND))],
           idempotency_key: IdemKey = None):
    def act(intent):
        if intent.payee_user_id != principal.user_id and not (service.STAFF & principal.roles):
            raise Forbidden("only the payee or support can refund a payment", code="not_payee")
        row = service.refund(session, intent, body.amount, body.reason)
        return 201, RefundOut.model_validate(row).model_dump(mode="json")

    return _action(session, principal, intent_id, idempotency_key, "refund", body.model_dump(), act)


@router.post("/reconcile", summary="Settle payments stuck in processing (also run by a job)")
def reconcile(session: SessionDep, principal: Annotated[Principal, Depends(require(PAYMENTS_ADMIN))]):
    return service.reconcile_processing(session)


# ---- provider webhooks (public: authenticated by HMAC signature) ----------------------------

@router.post("/webhooks/{provider}", summary="Provider events (HMAC-signed; public route)")
async def webhook(provider: str, request: Request):
    from starlette.concurrency import run_in_threadpool

    from api.db import new_session

    body = await request.body()
    headers = dict(request.headers)

    def handle():
        with new_session() as session:
            return service.handle_webhook(session, provider, body, headers)

    return await run_in_threadpool(handle)
