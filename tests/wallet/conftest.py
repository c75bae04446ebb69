"""Wallet fixtures: users with opened and funded wallets, created through the service functions."""

from __future__ import annotations

import uuid

import pytest


@pytest.fixture
def funded(make_user):
    """funded(amount, currency="USD", roles=None) -> (user, wallet account id), money minted
    from the adjustments system account through the ledger."""
    from api.db import new_session
    from api.wallet import service

    def _make(amount: int = 0, currency: str = "USD", roles: list[str] | None = None):
        user, _ = make_user(roles=roles or ["customer"])
        with new_session() as session:
            account = service.owned_account(session, user.id, currency)
            if amount:
                mint = service.system_account(session, "adjustments", currency)
                service.post(session, "adjustment", [service.Posting(mint.id, -amount),
                                                     service.Posting(account.id, amount)])
            session.commit()
            return user, account.id

    return _make


@pytest.fixture
def idem():
    return lambda: {"Idempotency-Key": uuid.uuid4().hex}


def ledger_snapshot(session) -> dict:
    from sqlalchemy import func, select

    from api.wallet.models import LedgerEntry, LedgerTransaction
    from api.wallet.service import total_by_currency

    return {"totals": total_by_currency(session),
            "entries": session.scalar(select(func.count()).select_from(LedgerEntry)),
            "transactions": session.scalar(select(func.count()).select_from(LedgerTransaction))}


@pytest.fixture
def fraud_config(monkeypatch):
    """fraud_config(review_score=40, ...): the fraud thresholds (TRUSTY_FRAUD_*) for this test."""
    from api.trusty import fraud

    def _set(**values: int) -> None:
        for name, value in values.items():
            monkeypatch.setenv(f"TRUSTY_FRAUD_{name.upper()}", str(value))
        fraud.fraud_settings.cache_clear()

    yield _set
    monkeypatch.undo()
    fraud.fraud_settings.cache_clear()


@pytest.fixture(autouse=True)
def fraud_never_holds(fraud_config):
    """Wallet transfers are fraud-scored and every decision recorded; the ledger tests here
    move money many times a minute from one test client, so scores never hold or block in
    them. Fraud tests set their own thresholds with fraud_config."""
    fraud_config(review_score=10**9, block_score=10**9)
