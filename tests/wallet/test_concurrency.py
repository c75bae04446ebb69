"""Thousands of transfers over a few hot accounts on many connections at once: money is
neither created nor lost, nothing forbidden goes negative, every chain verifies."""

from __future__ import annotations

import random
import threading
import time
import uuid

import pytest
from sqlalchemy import func, select

THREADS = 16
TRANSFERS_PER_THREAD = 200  # 3,200 attempts
HOT = 5


@pytest.mark.slow
def test_hot_accounts_under_concurrency(funded, database_url):
    from api.db import new_session
    from api.wallet import service, transfers
    from api.wallet.models import LedgerAccount, LedgerEntry
    from api.wallet.verify import verify_ledger

    users = [funded(5_000)[0] for _ in range(HOT)]
    with new_session() as s:
        accounts = [service.owned_account(s, u.id, "USD", create=False).id for u in users]
        entries_before = s.scalar(select(func.count()).select_from(LedgerEntry)
                                  .where(LedgerEntry.account_id.in_(accounts)))
        total_before = s.scalar(select(func.sum(LedgerAccount.balance))
                                .where(LedgerAccount.id.in_(accounts)))
    posted, refused, errors = [0] * THREADS, [0] * THREADS, []
    barrier = threading.Barrier(THREADS)

    def worker(n: int) -> None:
        rng = random.Random(n)
        with new_session() as session:
            barrier.wait()
            for _ in range(TRANSFERS_PER_THREAD):
                src, dst = rng.sample(users, 2)
                amount = rng.randint(1, 900)

                try:
                    # A refusal is an answer (stored with its key), not an exception.
                    answer = transfers.transfer_idempotent(
                        session, from_user_id=src.id, to_user_id=dst.id, amount=amount,
                        currency="USD", description="", key=uuid.uuid4().hex)
                    if answer.status == 201:
                        posted[n] += 1
                    else:
                        assert (answer.status, answer.body["error"]["code"]) == (
                            422, "insufficient_funds"), answer
                        refused[n] += 1
                except Exception as exc:  # noqa: BLE001 - collected and asserted below
                    errors.append(repr(exc))

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    elapsed = time.perf_counter() - started
    assert errors == []
    assert sum(posted) + sum(refused) == THREADS * TRANSFERS_PER_THREAD
    assert sum(posted) > THREADS * TRANSFERS_PER_THREAD // 2
    with new_session() as s:
        balances = s.scalars(select(LedgerAccount.balance).where(LedgerAccount.id.in_(accounts))).all()
        entries_after = s.scalar(select(func.count()).select_from(LedgerEntry)
                                 .where(LedgerEntry.account_id.in_(accounts)))
        assert sum(balances) == total_before == HOT * 5_000
        assert min(balances) >= 0
        assert entries_after - entries_before == 2 * sum(posted)
        report = verify_ledger(s, accounts)
        assert report.ok, report.as_dict()
        assert report.entries == entries_after
    print(f"\n{sum(posted)} transfers posted, {sum(refused)} refused, "
          f"{THREADS} connections, {elapsed:.1f} s")
