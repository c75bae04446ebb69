"""/api/v1/wallets: open a wallet, balances, transfers (Idempotency-Key), history, one
transaction with its postings, and hash-chain verification."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from pydantic import ValidationError
from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from api.auth.dependencies import Principal, require
from api.auth.pooled import PooledAuth, require_pooled
from api.deps import SessionDep
from api.validation import Id
from api.wallet import service, transfers
from api.wallet.idempotency import StoredResponse
from api.wallet.permissions import WALLET_OPEN, WALLET_READ, WALLET_TRANSFER, WALLET_VERIFY
from api.wallet.schemas import (AccountOut, HistoryItem, HistoryPage, OpenWalletIn, PostingOut,
                                TransactionOut, TransferIn)
from api.wallet.verify import verify_ledger

router = APIRouter(prefix="/wallets", tags=["wallet"])

IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key",
                                                    description="unique per money-moving request")]
# Visible ASCII: a header value the database can store as it came (no NUL or control bytes).
DeviceIdHeader = Annotated[str | None, Header(alias="X-Device-ID", max_length=128,
                                              pattern=r"^[\x21-\x7e]+$",
                                              description="client device, for fraud velocity")]


def transaction_out(session: Session, tx_id: int, viewer_id: int, see_all: bool) -> TransactionOut:
    tx, rows = service.transaction_with_postings(session, tx_id, viewer_id=viewer_id,
                                                 see_all=see_all)
    return TransactionOut(
        id=tx.id, kind=tx.kind, description=tx.description, created_at=tx.created_at,
        reverses_id=tx.reverses_id,
        postings=[PostingOut(account_id=a.id, user_id=a.user_id, account_kind=a.kind,
                             currency=e.currency, amount=e.amount) for e, a in rows])


def replayable(stored: StoredResponse) -> Response:
    # orjson renders the same compact JSON as JSONResponse, at a fraction of the CPU.
    headers = {"Idempotent-Replayed": "true"} if stored.replayed else {}
    return Response(orjson.dumps(stored.body), status_code=stored.status, headers=headers,
                    media_type="application/json")


def _staff(principal: Principal) -> bool:
    return bool({"admin", "support"} & principal.roles)


@router.post("", status_code=201, response_model=AccountOut, summary="Open my wallet in a currency")
def open_wallet(body: OpenWalletIn, session: SessionDep,
                principal: Annotated[Principal, Depends(require(WALLET_OPEN))]):
    return service.open_wallet(session, principal.user_id, body.currency)


@router.get("/balances", response_model=list[AccountOut], summary="Balances of my accounts")
def balances(session: SessionDep, principal: Annotated[Principal, Depends(require(WALLET_READ))],
             user_id: Id | None = Query(None, description="support/admin: another user")):
    target = principal.user_id if user_id is None else user_id
    service.require_self_or_staff(principal.user_id, principal.roles, target)
    return service.balances(session, target)


# The body is validated in the route, after the caller's check (see read_transfer_body).
_TRANSFER_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": TransferIn.model_json_schema()}}}}


async def read_transfer_body(request: Request, auth: PooledAuth) -> TransferIn:
    """FastAPI would validate a declared body before the route runs, answering 422 to a caller
    the guarded statement has not checked yet; a refused caller must get its 401/403 first."""
    try:
        return TransferIn.model_validate_json(await request.body())
    except ValidationError as exc:
        await auth.verify()
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])}
                                      for e in exc.errors(include_url=False)]) from None


@router.post("/transfers", status_code=201, response_model=TransactionOut,
             summary="Send money to another user (requires Idempotency-Key)",
             openapi_extra=_TRANSFER_BODY)
async def transfer(request: Request,
                   auth: Annotated[PooledAuth, Depends(require_pooled(WALLET_TRANSFER))],
                   idempotency_key: IdempotencyKeyHeader = None,
                   device_id: DeviceIdHeader = None):
    """Fraud-scored: 201 posted, 202 held for review (a fraud case; nothing posted until
    support approves), 403 blocked; 403 approval_required at or above the sender's approval
    limit (their multisig policy: use POST /trusty/transfers). Every outcome, a refusal
    included, is stored with the Idempotency-Key and replayed for it. The caller's check and
    the transfer are one statement on
    the event loop, through the app's asyncio pool (api.auth.pooled); where the app has no pool
    on this loop, the sync path on a pooled connection in the threadpool."""
    body = await read_transfer_body(request, auth)
    args = {"to_user_id": body.to_user_id, "amount": body.amount, "currency": body.currency,
            "description": body.description, "key": idempotency_key,
            "client_ip": request.client.host if request.client else None, "device_id": device_id}
    if auth.pool is None:  # the dependency has checked the caller already
        return replayable(await run_in_threadpool(lambda: transfers.transfer_idempotent(
            None, from_user_id=auth.principal.user_id, **args)))
    return replayable(await transfers.transfer_idempotent_async(auth, **args))


@router.get("/transactions", response_model=HistoryPage, summary="My transaction history")
def history(session: SessionDep, principal: Annotated[Principal, Depends(require(WALLET_READ))],
            currency: str | None = None, kind: str | None = None,
            counterparty_id: Id | None = None, since: datetime | None = None,
            until: datetime | None = None, cursor: str | None = None,
            limit: int = Query(50, ge=1, le=200), user_id: Id | None = None):
    target = principal.user_id if user_id is None else user_id
    service.require_self_or_staff(principal.user_id, principal.roles, target)
    flt = service.HistoryFilter(currency, kind, counterparty_id, since, until)
    page, next_cursor = service.history(session, target, flt, limit=limit, cursor=cursor)
    return HistoryPage(items=[HistoryItem(
        entry_id=e.id, transaction_id=t.id, kind=t.kind, description=t.description,
        currency=e.currency, amount=e.amount, balance_after=e.balance_after,
        created_at=e.created_at) for e, t in page], next_cursor=next_cursor)


@router.get("/transactions/{transaction_id}", response_model=TransactionOut,
            summary="One transaction with its postings")
def get_transaction(transaction_id: Id, session: SessionDep,
                    principal: Annotated[Principal, Depends(require(WALLET_READ))]):
    return transaction_out(session, transaction_id, principal.user_id, _staff(principal))


@router.get("/verify", summary="Verify every account's hash chain and the zero-sum invariant")
def verify(session: SessionDep, principal: Annotated[Principal, Depends(require(WALLET_VERIFY))],
           account_id: Id | None = None) -> dict:
    report = verify_ledger(session, None if account_id is None else [account_id])
    return report.as_dict()
