"""The API's transfer path: one call to the SQL transfer core `wallet_transfer` (idempotency
key, wallets, approval limit, fraud score and decision, posting or fraud case, stored response
in one round trip; api.wallet.approval_sql), on a session, a pooled connection or the app's
asyncio pool. A refusal after the key is taken is an answer: stored with the key, replayed,
and recorded as a failed attempt by the SQL itself; refusals before it (invalid amount,
transfer to self) are recorded here for the failed-attempts fraud rule. Plain
`service.transfer` is the unscored building block other services post through."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

import psycopg
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.auth.pooled import PooledAuth
from api.core.errors import AppError, Unprocessable
from api.db import get_engine, new_session
from api.wallet.currencies import check_amount, check_currency
from api.wallet.idempotency import (
    RETRY_ATTEMPTS,
    RETRYABLE_SQLSTATES,
    StoredResponse,
    answered,
    check_key,
    request_fingerprint,
    with_retry,
)
from api.wallet.service import driver_refusal, refusal_of

_KEY_REFUSALS = ("idempotency_key_required", "idempotency_key_reused", "idempotency_key_invalid")


def transfer_idempotent(session: Session | None, *, from_user_id: int, to_user_id: int, amount: int,
                        currency: str, description: str, key: str | None,
                        client_ip: str | None = None, device_id: str | None = None) -> StoredResponse:
    """The API's transfer: validated here, then one call to `wallet_transfer` (idempotency key,
    wallets, approval limit, fraud score and decision, posting or fraud case, stored response
    in one round trip), committed, retried on serialization failures. A replay returns the
    first response, a refusal included. Fraud decisions: 201 posted, 202 held for review
    (nothing posted), 403 blocked; 403 approval_required above the wallet's approval limit.
    With no session (the API route) it runs on a pooled connection in autocommit: the call is
    one atomic statement, and an ORM session per request would add nothing but CPU."""
    key = check_key(key)
    try:
        params = _transfer_params(from_user_id, to_user_id, amount, currency, description, key,
                                  client_ip, device_id)
        return with_retry(session, lambda: _transfer_unit(session, params))
    except AppError as exc:
        if exc.code not in _KEY_REFUSALS:
            with (nullcontext(session) if session is not None else new_session()) as own:
                record_failed_attempt(own, user_id=from_user_id, to_user_id=to_user_id,
                                      amount=amount, currency=currency, client_ip=client_ip,
                                      device_id=device_id)
        raise


async def transfer_idempotent_async(auth: PooledAuth, *, to_user_id: int, amount: int,
                                    currency: str, description: str, key: str | None,
                                    client_ip: str | None = None,
                                    device_id: str | None = None) -> StoredResponse:
    """transfer_idempotent on the event loop, for the caller `auth` (require_pooled): the same
    statement, refusals, retries and failed-attempt record, through the app's asyncio pool (no
    threadpool hop, no session), with the caller's user row checked in the same statement.
    Every refusal checks the caller first: 401/403 come before the request's own 4xx."""
    from_user_id = auth.user_id
    try:
        key = check_key(key)
        params = _transfer_params(from_user_id, to_user_id, amount, currency, description, key,
                                  client_ip, device_id)
        for attempt in range(1, RETRY_ATTEMPTS + 1):
            try:
                async with auth.pool.connection() as conn:
                    result = await auth.execute(conn, TRANSFER_CALL, params)
                return stored_transfer_response(result)
            except psycopg.DataError as exc:  # as api.core.errors answers SQLAlchemy's DataError
                reason = str(exc).splitlines()[0][:200]
                raise AppError(f"a value was refused by the database: {reason}",
                               code="invalid_value", status_code=400) from None
            except psycopg.Error as exc:
                if exc.sqlstate in RETRYABLE_SQLSTATES and attempt < RETRY_ATTEMPTS:
                    continue
                refusal = driver_refusal(exc)
                if refusal is exc:
                    raise
                raise refusal from None
        raise AssertionError("unreachable")
    except AppError as exc:
        await auth.verify()  # a caller without the right gets its 401/403 instead, unrecorded
        if exc.code not in _KEY_REFUSALS:
            async with auth.pool.connection() as conn:
                await conn.execute(FAILED_ATTEMPT_SQL, _failed_attempt_params(
                    from_user_id, to_user_id, amount, currency, client_ip, device_id))
        raise


def _transfer_params(from_user_id: int, to_user_id: int, amount: int, currency: str,
                     description: str, key: str, client_ip: str | None,
                     device_id: str | None) -> dict[str, Any]:
    from api.trusty.fraud import rules_json

    check_amount(amount)
    check_currency(currency)
    if from_user_id == to_user_id:
        raise Unprocessable("cannot transfer to yourself", code="transfer_to_self")
    fingerprint = request_fingerprint("wallet.transfer", {
        "to_user_id": to_user_id, "amount": amount, "currency": currency,
        "description": description})
    return {"owner": f"user:{from_user_id}", "key": key, "hash": fingerprint,
            "src": from_user_id, "dst": to_user_id, "amount": amount, "currency": currency,
            "description": description, "ip": client_ip, "device": device_id,
            "rules": rules_json()}


def _transfer_unit(session: Session | None, params: dict[str, Any]) -> StoredResponse:
    # wallet_transfer is one statement doing every write atomically, so it runs in autocommit:
    # its own implicit transaction, no BEGIN/COMMIT round trips. A caller's open transaction
    # is joined instead (and committed below, as before). Driver-level call: this is the hot
    # path, ORM statement handling adds nothing here.
    try:
        if session is None:
            with get_engine().connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                result = conn.exec_driver_sql(TRANSFER_SQL, params).scalar_one()
        else:
            options = None if session.in_transaction() else {"isolation_level": "AUTOCOMMIT"}
            result = session.connection(execution_options=options).exec_driver_sql(
                TRANSFER_SQL, params).scalar_one()
            session.commit()
    except DBAPIError as exc:
        raise refusal_of(exc) from None
    return stored_transfer_response(result)


TRANSFER_CALL = ("wallet_transfer(%(owner)s, %(key)s, %(hash)s, %(src)s, %(dst)s,"
                 " %(amount)s, %(currency)s, %(description)s, %(ip)s, %(device)s,"
                 " %(rules)s::jsonb)")
TRANSFER_SQL = "SELECT " + TRANSFER_CALL


def stored_transfer_response(result: dict[str, Any]) -> StoredResponse:
    # Stored without one: an error body carries the request id of whoever reads it.
    return StoredResponse(result["status"], answered(result["body"]), result["replayed"])


def record_failed_attempt(session: Session, *, user_id: int, to_user_id: int | None, amount: int,
                          currency: str, client_ip: str | None, device_id: str | None) -> None:
    """A refused transfer (overdraft, no wallet, ...) counts for the failed-attempts rule."""
    session.rollback()
    session.connection().exec_driver_sql(FAILED_ATTEMPT_SQL, _failed_attempt_params(
        user_id, to_user_id, amount, currency, client_ip, device_id))
    session.commit()


FAILED_ATTEMPT_SQL = (
    "INSERT INTO fraud_decisions (user_id, action, counterparty_id, amount, currency, client_ip,"
    " device_id, score, decision, reasons, outcome) VALUES (%(user_id)s, 'wallet_transfer',"
    " %(to_user_id)s, %(amount)s, %(currency)s, %(ip)s, %(device)s, 0, 'allow', '[]'::jsonb,"
    " 'failed')")


def attempted_amount(amount: Any) -> int:
    return amount if isinstance(amount, int) and amount > 0 else 0


def _failed_attempt_params(user_id: int, to_user_id: Any, amount: Any, currency: Any,
                           client_ip: str | None, device_id: str | None) -> dict[str, Any]:
    # An attempt with a malformed amount (zero, negative, not an integer) counts, recorded as 0.
    return {"user_id": user_id, "to_user_id": to_user_id if isinstance(to_user_id, int) else None,
            "amount": attempted_amount(amount), "currency": str(currency)[:3],
            "ip": client_ip, "device": device_id}
