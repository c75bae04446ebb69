"""The money seam of the AI marketplace: the ONLY module that calls the wallet ledger.

A successful call is billed by one ledger transaction, in the same database transaction that
marks the call succeeded (api/ai/sql.py `ai_settle`, which refuses a call that is not
'reserved' any more, so a call is billed at most once; the transaction id is unique on the
call row):

    buyer wallet  -charge      provider wallet  +charge - fee      fees  +fee

The fee is the platform's share in basis points (AI_PLATFORM_FEE_BPS), rounded down, so the
provider never receives less than charge - fee and the sums are exact. A free call (charge 0)
posts nothing. Failed calls are never posted."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.wallet import service as ledger
from api.wallet.service import Posting

# (database url, kind, owner, currency) -> account id. Accounts are never deleted, so an id once
# seen stays right; keyed by the database so a process that switches databases (benches) does
# not reuse another database's ids.
_ACCOUNTS: dict[tuple[str, str, str | int, str], int] = {}


def split(charge_minor: int, fee_bps: int) -> tuple[int, int]:
    """(provider's share, platform fee)."""
    fee = charge_minor * fee_bps // 10_000
    return charge_minor - fee, fee


def _account_id(session: Session, kind: str, owner: str | int, currency: str) -> int:
    key = (str(session.get_bind().url), kind, owner, currency)
    found = _ACCOUNTS.get(key)
    if found is None:
        if kind == "system":
            found = ledger.system_account(session, str(owner), currency).id
        else:
            found = ledger.owned_account(session, int(owner), currency).id
        _ACCOUNTS[key] = found
    return found


def post_call_charge(session: Session, *, call_id: int, buyer_wallet_id: int,
                     provider_user_id: int, currency: str, charge_minor: int, fee_minor: int,
                     service: str, buyer_user_id: int) -> int | None:
    """Post the call's charge (not committed); the ledger transaction id, or None when free.
    Raises InsufficientFunds when the buyer's wallet no longer covers it."""
    if charge_minor == 0:
        return None
    provider_wallet = _account_id(session, "user", provider_user_id, currency)
    postings = [Posting(buyer_wallet_id, -charge_minor),
                Posting(provider_wallet, charge_minor - fee_minor)]
    if fee_minor:
        postings.append(Posting(_account_id(session, "system", "fees", currency), fee_minor))
    return ledger.post(session, "ai_usage", postings,
                       description=f"AI call {call_id} to {service}", initiated_by=buyer_user_id,
                       details={"ai_call_id": call_id, "service": service,
                                "idempotency_key": f"ai_call:{call_id}"})

