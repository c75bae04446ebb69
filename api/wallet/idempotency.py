"""Idempotency keys for money-moving requests (Stripe's design, kept in the same database
transaction as the work it guards).

The key row is INSERTed first with ON CONFLICT DO NOTHING. A concurrent request with the same
key blocks on the unique index until the first transaction ends: if that one committed, the
second finds the stored response and replays it; if it rolled back, the second executes.
So one key executes once.

A refusal is an answer too: once the work has started (the key is taken), its outcome is
stored with the key whatever it is, a 4xx refusal included (its writes rolled back to a
savepoint taken after the key row), and replayed for the same key. Otherwise a client's
automatic retry would move money after the user was told it had not moved (a 422
insufficient_funds retried once funds arrived). Only what never started leaves the key
free: a malformed or missing key, a body that fails schema validation, a key reused with
another body, and unexpected server errors and serialization failures (whole transaction
rolled back; the latter retried here). A new request needs a new key.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.core.context import request_id_var
from api.core.errors import AppError, Unprocessable, error_body
from api.wallet.models import IdempotencyKey

log = logging.getLogger("ehb.wallet")
MAX_KEY_LENGTH = 255
RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization failure, deadlock detected
RETRY_ATTEMPTS = 5


@dataclass(frozen=True)
class StoredResponse:
    status: int
    body: Any
    replayed: bool


def request_fingerprint(scope: str, payload: Any) -> str:
    canonical = json.dumps({"scope": scope, "payload": payload}, sort_keys=True,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def check_key(key: str | None) -> str:
    if not key or not key.strip():
        raise AppError("the Idempotency-Key header is required on money-moving requests",
                       code="idempotency_key_required", status_code=400)
    if len(key) > MAX_KEY_LENGTH:
        raise Unprocessable(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters",
                            code="idempotency_key_invalid")
    return key


def is_retryable(exc: BaseException) -> bool:
    orig = getattr(exc, "orig", None)
    return isinstance(exc, DBAPIError) and getattr(orig, "sqlstate", None) in RETRYABLE_SQLSTATES


def with_retry(session: Session | None, work: Callable[[], Any],
               attempts: int = RETRY_ATTEMPTS) -> Any:
    """Run one unit of work (which commits), retrying serialization failures and deadlocks.
    No session: the work runs in autocommit and has nothing to roll back."""
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except DBAPIError as exc:
            if session is not None:
                session.rollback()
            if not is_retryable(exc) or attempt == attempts:
                raise
            log.warning("retrying unit of work after %s (attempt %d)",
                        getattr(exc.orig, "sqlstate", "?"), attempt)
        except BaseException:
            if session is not None:
                session.rollback()
            raise
    raise AssertionError("unreachable")


def answered(body: Any) -> Any:
    """A stored error body carries the request id of whoever reads it (stored without one)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return {**body, "error": {**body["error"], "request_id": request_id_var.get()}}
    return body


def _storable(body: Any) -> Any:
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        return {**body, "error": {**body["error"], "request_id": None}}
    return body


def run_idempotent(session: Session, *, owner: str, key: str | None, scope: str, payload: Any,
                   work: Callable[[], tuple[int, Any]],
                   on_refusal: Callable[[AppError], None] | None = None) -> StoredResponse:
    """Execute `work` (which writes but does not commit and returns (status, json body)) at most
    once per (owner, key); commit it together with the stored response. A refusal (AppError)
    raised by `work` undoes its writes and becomes the stored answer; `on_refusal` may then
    write what a refusal leaves behind (e.g. a failed attempt), in the same transaction."""
    key = check_key(key)
    fingerprint = request_fingerprint(scope, payload)

    def unit() -> StoredResponse:
        inserted = session.execute(
            insert(IdempotencyKey)
            .values(owner=owner, key=key, scope=scope, request_hash=fingerprint)
            .on_conflict_do_nothing(constraint="uq_idempotency_keys_owner_key")
            .returning(IdempotencyKey.id)
        ).scalar()
        if inserted is None:
            row = session.scalars(select(IdempotencyKey).where(
                IdempotencyKey.owner == owner, IdempotencyKey.key == key)).one()
            session.rollback()
            if row.request_hash != fingerprint:
                raise Unprocessable(
                    "this Idempotency-Key was already used with a different request; "
                    "use a new key for a new request", code="idempotency_key_reused",
                    details={"scope": row.scope})
            return StoredResponse(row.response_status or 200, answered(row.response_body), True)
        try:
            with session.begin_nested():
                status, body = work()
        except AppError as exc:
            status, body = exc.status_code, error_body(exc.code, exc.message, exc.details)
            if on_refusal is not None:
                on_refusal(exc)
        session.execute(
            IdempotencyKey.__table__.update().where(IdempotencyKey.id == inserted)
            .values(response_status=status, response_body=_storable(body),
                    completed_at=datetime.now(UTC)))
        session.commit()
        return StoredResponse(status, answered(body), False)

    return with_retry(session, unit)
