"""Tamper evidence: recompute every account's SHA-256 hash chain and the ledger's invariants,
reporting the first broken link. Used by GET /wallets/verify and `ehb ledger verify`."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.wallet.models import GENESIS_HASH, LedgerAccount, LedgerEntry

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def entry_hash(prev_hash: str, account_id: int, seq: int, transaction_id: int, amount: int,
               currency: str, balance_after: int, created_at: datetime) -> str:
    """Mirror of the expression in wallet_post (concat_ws('|', ...) of the same fields)."""
    micros = (created_at - _EPOCH) // timedelta(microseconds=1)
    canonical = "|".join(str(v) for v in (prev_hash, account_id, seq, transaction_id, amount,
                                          currency, balance_after, micros))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass
class BrokenLink:
    account_id: int
    seq: int
    entry_id: int | None
    reason: str


@dataclass
class VerifyReport:
    accounts: int = 0
    entries: int = 0
    broken: list[BrokenLink] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.broken

    def as_dict(self) -> dict:
        return {"ok": self.ok, "accounts": self.accounts, "entries": self.entries,
                "first_broken": asdict(self.broken[0]) if self.broken else None,
                "broken": [asdict(b) for b in self.broken[:100]]}


def verify_account(session: Session, account: LedgerAccount, report: VerifyReport) -> None:
    prev, expected_seq, balance = GENESIS_HASH, 1, 0
    report.accounts += 1
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.seq, LedgerEntry.transaction_id, LedgerEntry.amount,
               LedgerEntry.currency, LedgerEntry.balance_after, LedgerEntry.hash,
               LedgerEntry.created_at)
        .where(LedgerEntry.account_id == account.id).order_by(LedgerEntry.seq))
    for entry_id, seq, tx_id, amount, currency, balance_after, stored, created_at in rows:
        report.entries += 1
        if seq != expected_seq:
            report.broken.append(BrokenLink(account.id, expected_seq, entry_id,
                                            f"entry seq {expected_seq} is missing (next found {seq})"))
            return
        balance += amount
        if currency != account.currency or balance_after != balance:
            report.broken.append(BrokenLink(account.id, seq, entry_id,
                                            "amount, currency or running balance was altered"))
            return
        if entry_hash(prev, account.id, seq, tx_id, amount, currency, balance_after,
                      created_at) != stored:
            report.broken.append(BrokenLink(account.id, seq, entry_id,
                                            "hash does not match the entry's content"))
            return
        prev, expected_seq = stored, expected_seq + 1
    if expected_seq - 1 != account.last_seq or prev != account.last_hash:
        report.broken.append(BrokenLink(account.id, expected_seq, None,
                                        "the chain head on the account does not match its last entry "
                                        "(an entry was deleted)"))
    elif balance != account.balance:
        report.broken.append(BrokenLink(account.id, account.last_seq, None,
                                        "account balance differs from the sum of its entries"))


def verify_ledger(session: Session, account_ids: list[int] | None = None) -> VerifyReport:
    report = VerifyReport()
    query = select(LedgerAccount).order_by(LedgerAccount.id)
    if account_ids is not None:
        query = query.where(LedgerAccount.id.in_(account_ids))
    for account in session.scalars(query):
        verify_account(session, account, report)
    if account_ids is None:
        # Every journal transaction sums to zero per currency.
        unbalanced = session.execute(
            select(LedgerEntry.transaction_id, LedgerEntry.currency)
            .group_by(LedgerEntry.transaction_id, LedgerEntry.currency)
            .having(func.sum(LedgerEntry.amount) != 0).limit(10)).all()
        for tx_id, currency in unbalanced:
            report.broken.append(BrokenLink(0, 0, None,
                                            f"transaction {tx_id} does not sum to zero in {currency}"))
    return report
