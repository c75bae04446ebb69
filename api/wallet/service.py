"""Wallet service functions: accounts, posting journal transactions, transfers, history,
approval limits. The API, the CLI, payments, trusty wallet and the simulator all move money
through `post`, whose SQL (`wallet_post`) enforces each wallet's approval limit (see
api.wallet.approval_sql for what passes it)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, exists, func, select, text
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, aliased

from api.auth.models import User
from api.core.errors import AppError, Forbidden, NotFound, Unprocessable
from api.wallet.currencies import check_amount, check_currency
from api.wallet.models import ApprovalLimit, LedgerAccount, LedgerEntry, LedgerTransaction

SYSTEM_ACCOUNTS = {
    # name: allow_negative. Clearing mirrors money held by payment providers (it goes negative
    # while the provider owes us); adjustments funds test and simulator wallets.
    "clearing": True,
    "fees": False,
    # The marketplace escrow: what an order put in, until its payout or refund takes it out.
    "payouts": False,
    "cold_storage": False,
    "adjustments": True,
    # Wallet-funded payments: funds sit here between authorization and capture.
    "wallet_clearing": False,
}


class InsufficientFunds(AppError):
    status_code, code = 422, "insufficient_funds"


_SQLSTATE_ERRORS = {
    "EHB10": ("invalid_postings", 422),
    "EHB11": ("invalid_amount", 422),
    "EHB12": ("unknown_account", 404),
    "EHB13": ("unbalanced_transaction", 422),
    "EHB30": ("no_wallet", 422),
    "EHB31": ("recipient_not_found", 404),
    "EHB32": ("no_wallet", 422),
    "EHB40": ("idempotency_key_reused", 422),
    "EHB50": ("approval_required", 403),
}


@dataclass(frozen=True)
class Posting:
    account_id: int
    amount: int


# ---- accounts -------------------------------------------------------------------------------

def account_code(kind: str, owner: int | str, currency: str) -> str:
    return f"{kind}:{owner}:{currency}"


def _ensure_account(session: Session, *, kind: str, user_id: int | None, code: str,
                    currency: str, allow_negative: bool = False) -> LedgerAccount:
    session.execute(insert(LedgerAccount).values(
        kind=kind, user_id=user_id, code=code, currency=currency, allow_negative=allow_negative,
    ).on_conflict_do_nothing(index_elements=["code"]))
    return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).one()


def system_account(session: Session, name: str, currency: str) -> LedgerAccount:
    if name not in SYSTEM_ACCOUNTS:
        raise ValueError(f"unknown system account {name}")
    check_currency(currency)
    return _ensure_account(session, kind="system", user_id=None, code=f"system:{name}:{currency}",
                           currency=currency, allow_negative=SYSTEM_ACCOUNTS[name])


def owned_account(session: Session, user_id: int, currency: str, kind: str = "user",
                  create: bool = True) -> LedgerAccount | None:
    """The user's wallet (kind user), hold or vault account in a currency."""
    code = account_code(kind, user_id, currency)
    if not create:
        return session.scalars(select(LedgerAccount).where(LedgerAccount.code == code)).first()
    return _ensure_account(session, kind=kind, user_id=user_id, code=code, currency=currency)


def open_wallet(session: Session, user_id: int, currency: str) -> LedgerAccount:
    check_currency(currency)
    if owned_account(session, user_id, currency, create=False) is not None:
        raise AppError(f"you already have a {currency} wallet", code="wallet_exists",
                       status_code=409)
    account = owned_account(session, user_id, currency)
    session.commit()
    return account


def wallet_of(session: Session, user_id: int, currency: str, *, role: str = "your") -> LedgerAccount:
    account = owned_account(session, user_id, currency, create=False)
    if account is None:
        raise Unprocessable(f"{role} account has no {currency} wallet", code="no_wallet",
                            details={"user_id": user_id, "currency": currency})
    return account


def balances(session: Session, user_id: int) -> list[LedgerAccount]:
    return list(session.scalars(select(LedgerAccount).where(LedgerAccount.user_id == user_id)
                                .order_by(LedgerAccount.currency, LedgerAccount.kind)))


# ---- approval limits ------------------------------------------------------------------------

def set_approval_limit(session: Session, user_id: int, currency: str,
                       threshold: int | None) -> None:
    """From now on (in the caller's transaction, not committed) the ledger refuses to move
    `threshold` or more of `currency` out of the user's wallet to someone else in one
    transaction; None lifts the limit. Trusty's multisig policy is its only writer."""
    check_currency(currency)
    if threshold is None:
        session.execute(ApprovalLimit.__table__.delete().where(
            ApprovalLimit.user_id == user_id, ApprovalLimit.currency == currency))
        return
    check_amount(threshold)
    session.execute(insert(ApprovalLimit).values(
        user_id=user_id, currency=currency, threshold=threshold,
    ).on_conflict_do_update(index_elements=["user_id", "currency"],
                            set_={"threshold": threshold, "updated_at": func.now()}))


def approval_limit(session: Session, user_id: int, currency: str) -> int | None:
    return session.scalar(select(ApprovalLimit.threshold).where(
        ApprovalLimit.user_id == user_id, ApprovalLimit.currency == currency))


# ---- posting --------------------------------------------------------------------------------

def post(session: Session, kind: str, postings: Sequence[Posting], *, description: str = "",
         initiated_by: int | None = None, details: dict[str, Any] | None = None,
         reverses_id: int | None = None) -> int:
    """Write one journal transaction (not committed). Refusals leave the session to roll back."""
    import json

    try:
        return session.execute(
            text("SELECT wallet_post(:kind, :description, :by, CAST(:details AS jsonb), :reverses,"
                 " CAST(:accounts AS bigint[]), CAST(:amounts AS bigint[]))"),
            {"kind": kind, "description": description, "by": initiated_by,
             "details": json.dumps(details or {}), "reverses": reverses_id,
             "accounts": [p.account_id for p in postings], "amounts": [p.amount for p in postings]},
        ).scalar_one()
    except DBAPIError as exc:
        raise refusal_of(exc) from None


def refusal_of(exc: DBAPIError) -> BaseException:
    refusal = driver_refusal(exc.orig)
    return exc if refusal is exc.orig else refusal


def driver_refusal(orig: BaseException) -> BaseException:
    """The client's refusal a psycopg error stands for, or the error itself."""
    state = getattr(orig, "sqlstate", None)
    diag = getattr(orig, "diag", None)
    if state == "23514" and diag is not None and diag.constraint_name == "ck_wallet_accounts_no_overdraft":
        return InsufficientFunds("insufficient funds: the balance may not go negative")
    if state in _SQLSTATE_ERRORS:
        code, status = _SQLSTATE_ERRORS[state]
        return AppError(diag.message_primary if diag else str(orig), code=code, status_code=status)
    return orig  # serialization failures etc. propagate for the retry loop


def transfer(session: Session, *, from_user_id: int, to_user_id: int, amount: int,
             currency: str, description: str = "", initiated_by: int | None = None) -> int:
    """Move money between two users' wallets (not committed)."""
    check_amount(amount)
    check_currency(currency)
    if from_user_id == to_user_id:
        raise Unprocessable("cannot transfer to yourself", code="transfer_to_self")
    source = wallet_of(session, from_user_id, currency)
    if session.get(User, to_user_id) is None:
        raise NotFound("recipient not found", code="recipient_not_found")
    target = wallet_of(session, to_user_id, currency, role="the recipient's")
    return post(session, "transfer", [Posting(source.id, -amount), Posting(target.id, amount)],
                description=description, initiated_by=initiated_by or from_user_id,
                details={"from_user_id": from_user_id, "to_user_id": to_user_id})


def reverse(session: Session, transaction_id: int, *, initiated_by: int | None,
            description: str = "") -> int:
    """Undo a transaction with a new one carrying the opposite postings (not committed)."""
    original = session.get(LedgerTransaction, transaction_id)
    if original is None:
        raise NotFound("transaction not found")
    if session.scalar(select(LedgerTransaction.id).where(
            LedgerTransaction.reverses_id == transaction_id)):
        raise AppError("transaction already reversed", code="already_reversed", status_code=409)
    entries = session.scalars(select(LedgerEntry).where(LedgerEntry.transaction_id == transaction_id)
                              .order_by(LedgerEntry.id)).all()
    return post(session, "reversal", [Posting(e.account_id, -e.amount) for e in entries],
                description=description or f"reversal of {transaction_id}",
                initiated_by=initiated_by, reverses_id=transaction_id)


# ---- reading --------------------------------------------------------------------------------

def encode_cursor(entry_id: int) -> str:
    return base64.urlsafe_b64encode(f"e{entry_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if not raw.startswith("e"):
            raise ValueError
        return int(raw[1:])
    except (ValueError, UnicodeDecodeError):
        raise Unprocessable("cursor is not valid", code="invalid_cursor") from None


@dataclass(frozen=True)
class HistoryFilter:
    currency: str | None = None
    kind: str | None = None
    counterparty_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None


def history(session: Session, user_id: int, flt: HistoryFilter, *, limit: int = 50,
            cursor: str | None = None) -> tuple[list[tuple[LedgerEntry, LedgerTransaction]], str | None]:
    """The user's wallet entries, newest first, keyset-paginated by entry id."""
    query = (select(LedgerEntry, LedgerTransaction)
             .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.transaction_id)
             .join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
             .where(LedgerAccount.user_id == user_id, LedgerAccount.kind == "user"))
    if flt.currency:
        query = query.where(LedgerEntry.currency == check_currency(flt.currency))
    if flt.kind:
        query = query.where(LedgerTransaction.kind == flt.kind)
    if flt.since:
        query = query.where(LedgerEntry.created_at >= flt.since)
    if flt.until:
        query = query.where(LedgerEntry.created_at < flt.until)
    if flt.counterparty_id is not None:
        other_entry, other_account = aliased(LedgerEntry), aliased(LedgerAccount)
        query = query.where(exists().where(
            other_entry.transaction_id == LedgerEntry.transaction_id,
            other_account.id == other_entry.account_id,
            and_(other_account.user_id == flt.counterparty_id,
                 other_account.user_id != user_id)))
    if cursor:
        query = query.where(LedgerEntry.id < decode_cursor(cursor))
    rows = session.execute(query.order_by(LedgerEntry.id.desc()).limit(limit + 1)).all()
    page = [(e, t) for e, t in rows[:limit]]
    next_cursor = encode_cursor(page[-1][0].id) if len(rows) > limit else None
    return page, next_cursor


def transaction_with_postings(session: Session, transaction_id: int, *, viewer_id: int,
                              see_all: bool) -> tuple[LedgerTransaction, list[tuple[LedgerEntry, LedgerAccount]]]:
    tx = session.get(LedgerTransaction, transaction_id)
    if tx is None:
        raise NotFound("transaction not found")
    rows = session.execute(
        select(LedgerEntry, LedgerAccount).join(LedgerAccount, LedgerAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.transaction_id == transaction_id).order_by(LedgerEntry.id)).all()
    if not see_all and not any(a.user_id == viewer_id for _, a in rows):
        # Same answer as a missing one: ids of other people's transactions are not confirmed.
        raise NotFound("transaction not found")
    return tx, [(e, a) for e, a in rows]


def total_by_currency(session: Session) -> dict[str, int]:
    return {c: int(s) for c, s in session.execute(
        select(LedgerAccount.currency, func.sum(LedgerAccount.balance)).group_by(LedgerAccount.currency))}


def require_self_or_staff(principal_user_id: int, roles: frozenset[str], user_id: int) -> None:
    if user_id != principal_user_id and not ({"admin", "support"} & roles):
        raise Forbidden("you may only act on your own wallets", code="not_your_wallet")
