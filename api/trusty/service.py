"""Trusty wallet service functions: multisig policies, protected transfers (fraud-scored,
held for approval above a threshold), cold-storage vault moves (multisig + time delay,
cancellable), approvals, the fraud review queue, and the job that settles due moves.

Money is reserved by a ledger posting from the source account into the requester's hold
account, and settled or released by a second posting out of it: a pending request never
leaves money spendable twice.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth.models import User
from api.core.errors import Conflict, Forbidden, NotFound, Unprocessable, error_body
from api.trusty import fraud, policies
from api.trusty.models import (Approval, ApprovalRequest, FraudCase, FraudDecision,
                               MultisigPolicy, RequestApprover)
from api.wallet import service as ledger
from api.wallet import transfers as ledger_transfers
from api.wallet.currencies import check_amount, check_currency
from api.wallet.models import LedgerAccount
from api.wallet.service import Posting

VAULT_KINDS = ("vault_deposit", "vault_withdrawal")


def _now() -> datetime:
    return datetime.now(UTC)


# ---- policies (api.trusty.policies; the names callers know) -----------------------------------

set_policy = policies.set_policy
policy_for = policies.policy_for
approvers_of = policies.approvers_of


def request_approvers(session: Session, request_id: int) -> list[int]:
    """Who may decide a request: the policy's approvers when it was opened."""
    return list(session.scalars(select(RequestApprover.user_id)
                                .where(RequestApprover.request_id == request_id)
                                .order_by(RequestApprover.user_id)))


# ---- holds ----------------------------------------------------------------------------------

def _hold(session: Session, user_id: int, source_id: int, amount: int, currency: str,
          ref: dict[str, Any]) -> int:
    hold = ledger.owned_account(session, user_id, currency, kind="hold")
    return ledger.post(session, "hold", [Posting(source_id, -amount), Posting(hold.id, amount)],
                       initiated_by=user_id, details=ref)


def _from_hold(session: Session, user_id: int, target_id: int, amount: int, currency: str,
               kind: str, ref: dict[str, Any]) -> int:
    hold = ledger.owned_account(session, user_id, currency, kind="hold")
    return ledger.post(session, kind, [Posting(hold.id, -amount), Posting(target_id, amount)],
                       initiated_by=user_id, details=ref)


def _source_account(session: Session, request: ApprovalRequest) -> int:
    kind = "vault" if request.kind == "vault_withdrawal" else "user"
    return ledger.owned_account(session, request.requester_id, request.currency, kind=kind).id


def _target_account(session: Session, request: ApprovalRequest) -> int:
    if request.kind == "transfer":
        return ledger.wallet_of(session, request.to_user_id, request.currency,
                                role="the recipient's").id
    kind = "vault" if request.kind == "vault_deposit" else "user"
    return ledger.owned_account(session, request.requester_id, request.currency, kind=kind).id


# ---- protected transfers --------------------------------------------------------------------

def protected_transfer(session: Session, *, user_id: int, to_user_id: int, amount: int,
                       currency: str, client_ip: str | None, device_id: str | None,
                       description: str = "", now: datetime | None = None
                       ) -> tuple[int, dict[str, Any]]:
    """Fraud-score, then post, hold for approval, hold for review, or block. Not committed;
    returns (http status, body). A block is an answer (403) recorded with its decision.
    `now` is the scoring time (the simulator passes its clock; the API the real time)."""
    check_amount(amount)
    check_currency(currency)
    if user_id == to_user_id:
        raise Unprocessable("cannot transfer to yourself", code="transfer_to_self")
    if session.get(User, to_user_id) is None:
        raise NotFound("recipient not found", code="recipient_not_found")
    source = ledger.wallet_of(session, user_id, currency)
    target = ledger.wallet_of(session, to_user_id, currency, role="the recipient's")
    # Accounts first, then the decision row (whose trigger locks the velocity counters): the
    # lock order wallet_transfer takes too, so the two paths cannot deadlock on each other.
    session.execute(select(LedgerAccount.id).where(LedgerAccount.id.in_((source.id, target.id)))
                    .order_by(LedgerAccount.id).with_for_update())
    assessment = fraud.assess(session, user_id=user_id, counterparty_id=to_user_id, amount=amount,
                              client_ip=client_ip, device_id=device_id, now=now)
    decision = fraud.record(session, user_id=user_id, action="transfer",
                            counterparty_id=to_user_id, amount=amount, currency=currency,
                            client_ip=client_ip, device_id=device_id, assessment=assessment,
                            now=now)
    base = {"decision_id": decision.id, "score": decision.score, "decision": decision.decision}
    if decision.decision == "block":
        decision.outcome = "refused"
        return 403, error_body("fraud_blocked", "this transfer was blocked by fraud checks",
                               {**base, "reasons": assessment.reasons})
    # The policy's approvers before support's review: a fraud case is released by support
    # alone, so a sum the policy holds must never take that way round its quorum.
    policy = policy_for(session, user_id, currency)
    if policy is not None and amount >= policy.threshold:
        request = _open_request(session, policy, user_id, "transfer", amount, currency, to_user_id,
                                source.id)
        decision.outcome = "held"
        return 202, {**base, "status": "pending_approval", "request_id": request.id}
    if decision.decision == "review":
        hold_tx = _hold(session, user_id, source.id, amount, currency, {"fraud_decision": decision.id})
        case = FraudCase(decision_id=decision.id, user_id=user_id, to_user_id=to_user_id,
                         amount=amount, currency=currency, hold_tx_id=hold_tx)
        session.add(case)
        session.flush()
        decision.outcome = "held"
        return 202, {**base, "status": "held_for_review", "fraud_case_id": case.id}
    tx = ledger.post(session, "transfer", [Posting(source.id, -amount), Posting(target.id, amount)],
                     description=description, initiated_by=user_id,
                     details={"from_user_id": user_id, "to_user_id": to_user_id,
                              "fraud_decision": decision.id})
    decision.outcome = "posted"
    return 201, {**base, "status": "posted", "transaction_id": tx}


def add_failed_attempt(session: Session, *, user_id: int, to_user_id: int | None, amount: int,
                       currency: str, client_ip: str | None, device_id: str | None,
                       now: datetime | None = None) -> None:
    """A refused attempt (e.g. overdraft) still counts for the failed-attempts rule (not
    committed: the API stores it with the refusal it answers)."""
    row = FraudDecision(user_id=user_id, action="transfer", counterparty_id=to_user_id,
                        amount=ledger_transfers.attempted_amount(amount),
                        currency=str(currency)[:3], client_ip=client_ip, device_id=device_id,
                        score=0, decision="allow", reasons=[], outcome="failed")
    if now is not None:
        row.created_at = now
    session.add(row)


def record_refusal(session: Session, **attempt: Any) -> None:
    """add_failed_attempt in a transaction of its own, after the refused one rolled back."""
    session.rollback()
    add_failed_attempt(session, **attempt)
    session.commit()


# ---- approval requests ----------------------------------------------------------------------

def _open_request(session: Session, policy: MultisigPolicy, user_id: int, kind: str, amount: int,
                  currency: str, to_user_id: int | None, source_id: int) -> ApprovalRequest:
    """The request keeps the policy's approvers, quorum and vault delay of this moment."""
    request = ApprovalRequest(policy_id=policy.id, requester_id=user_id, kind=kind,
                              to_user_id=to_user_id, amount=amount, currency=currency,
                              status="pending", required=policy.required,
                              vault_delay_seconds=policy.vault_delay_seconds,
                              expires_at=_now() + timedelta(seconds=policy.approval_ttl_seconds))
    session.add(request)
    session.flush()
    session.add_all([RequestApprover(request_id=request.id, user_id=a)
                     for a in approvers_of(session, policy.id)])
    request.hold_tx_id = _hold(session, user_id, source_id, amount, currency,
                               {"trusty_request": request.id})
    return request


def request_vault_move(session: Session, *, user_id: int, kind: str, amount: int,
                       currency: str) -> ApprovalRequest:
    """Into or out of cold storage: always multisig, then the policy's delay. Not committed."""
    check_amount(amount)
    check_currency(currency)
    if kind not in VAULT_KINDS:
        raise Unprocessable("unknown vault move", code="invalid_kind")
    policy = policy_for(session, user_id, currency)
    if policy is None:
        raise Unprocessable(f"set up a multisig policy for {currency} before using cold storage",
                            code="policy_required")
    if kind == "vault_deposit":
        source = ledger.wallet_of(session, user_id, currency).id
    else:
        source = ledger.owned_account(session, user_id, currency, kind="vault").id
    return _open_request(session, policy, user_id, kind, amount, currency, None, source)


def _lock_request(session: Session, request_id: int) -> ApprovalRequest:
    request = session.scalars(select(ApprovalRequest).where(ApprovalRequest.id == request_id)
                              .with_for_update()).first()
    if request is None:
        raise NotFound("approval request not found", code="request_not_found")
    return request


def _release(session: Session, request: ApprovalRequest, status: str) -> None:
    _from_hold(session, request.requester_id, _source_account(session, request), request.amount,
               request.currency, "release", {"trusty_request": request.id})
    request.status = status


def _settle(session: Session, request: ApprovalRequest) -> None:
    request.settle_tx_id = _from_hold(session, request.requester_id,
                                      _target_account(session, request), request.amount,
                                      request.currency, request.kind, {"trusty_request": request.id})
    request.status = "executed"


def expire_if_due(session: Session, request: ApprovalRequest) -> bool:
    if request.status == "pending" and request.expires_at <= _now():
        _release(session, request, "expired")
        return True
    return False


def decide(session: Session, request_id: int, approver_id: int, decision: str) -> ApprovalRequest:
    """Approve or reject (not committed). When the quorum is reached a transfer settles at once
    and a vault move waits for its delay; when the quorum becomes impossible it is rejected."""
    request = _lock_request(session, request_id)
    approvers = request_approvers(session, request.id)
    if approver_id == request.requester_id:
        raise Forbidden("you cannot approve your own request", code="self_approval")
    if approver_id not in approvers:
        raise NotFound("approval request not found", code="request_not_found")
    if expire_if_due(session, request):
        return request  # the caller commits the expiry and answers 409
    if request.status != "pending":
        raise Conflict(f"request is {request.status}", code="request_not_pending")
    if session.scalar(select(Approval.id).where(Approval.request_id == request.id,
                                                Approval.approver_id == approver_id)):
        raise Conflict("you already decided on this request", code="duplicate_approval")
    session.add(Approval(request_id=request.id, approver_id=approver_id, decision=decision))
    session.flush()
    votes = dict(session.execute(select(Approval.decision, func.count()).where(
        Approval.request_id == request.id).group_by(Approval.decision)).all())
    outcome = policies.tally(len(approvers), request.required, votes)
    if outcome == "approved":
        if request.kind == "transfer":
            _settle(session, request)
        else:
            request.status = "approved"
            request.execute_after = _now() + timedelta(seconds=request.vault_delay_seconds)
            if request.vault_delay_seconds == 0:
                _settle(session, request)
    elif outcome == "rejected":
        _release(session, request, "rejected")
    return request


def cancel_request(session: Session, request_id: int, user_id: int) -> ApprovalRequest:
    request = _lock_request(session, request_id)
    if request.requester_id != user_id:
        raise NotFound("approval request not found", code="request_not_found")
    if request.status not in ("pending", "approved"):
        raise Conflict(f"request is {request.status} and can no longer be canceled",
                       code="request_not_cancelable")
    _release(session, request, "canceled")
    return request


def run_due(session: Session, now: datetime | None = None) -> dict[str, int]:
    """The job: expire stale pending requests, execute approved vault moves whose delay has
    passed, and the same for policy changes. One transaction per request; locked rows are
    skipped."""
    now = now or _now()
    counts = {"expired": 0, "executed": 0, **policies.run_due_changes(session, now)}
    due = session.execute(select(ApprovalRequest.id, ApprovalRequest.status).where(
        ((ApprovalRequest.status == "pending") & (ApprovalRequest.expires_at <= now))
        | ((ApprovalRequest.status == "approved") & (ApprovalRequest.execute_after <= now)))
        .order_by(ApprovalRequest.id)).all()
    session.rollback()
    for request_id, _ in due:
        request = session.scalars(select(ApprovalRequest).where(ApprovalRequest.id == request_id)
                                  .with_for_update(skip_locked=True)).first()
        if request is None:
            session.rollback()
            continue
        if request.status == "pending" and request.expires_at <= now:
            _release(session, request, "expired")
            counts["expired"] += 1
        elif request.status == "approved" and request.execute_after <= now:
            _settle(session, request)
            counts["executed"] += 1
        session.commit()
    return counts


# ---- fraud review queue ---------------------------------------------------------------------

def review_case(session: Session, case_id: int, reviewer_id: int, approve: bool,
                note: str = "") -> FraudCase:
    case = session.scalars(select(FraudCase).where(FraudCase.id == case_id).with_for_update()).first()
    if case is None:
        raise NotFound("fraud case not found", code="case_not_found")
    if case.status != "open":
        raise Conflict(f"case is already {case.status}", code="case_closed")
    decision = session.get(FraudDecision, case.decision_id)
    if case.hold_tx_id is None:
        # A held wallet transfer reserved nothing: approval posts it now (refused like any
        # transfer if the funds are gone, the case then stays open); rejection posts nothing.
        if approve:
            source = ledger.wallet_of(session, case.user_id, case.currency)
            target = ledger.wallet_of(session, case.to_user_id, case.currency,
                                      role="the recipient's")
            case.settle_tx_id = ledger.post(
                session, "transfer", [Posting(source.id, -case.amount), Posting(target.id, case.amount)],
                initiated_by=case.user_id, details={"from_user_id": case.user_id,
                                                    "to_user_id": case.to_user_id,
                                                    "fraud_case": case.id})
        decision.outcome = "posted" if approve else "refused"
    elif approve:
        target = ledger.wallet_of(session, case.to_user_id, case.currency, role="the recipient's")
        case.settle_tx_id = _from_hold(session, case.user_id, target.id, case.amount,
                                       case.currency, "transfer", {"fraud_case": case.id})
        decision.outcome = "posted"
    else:
        wallet = ledger.wallet_of(session, case.user_id, case.currency)
        case.settle_tx_id = _from_hold(session, case.user_id, wallet.id, case.amount,
                                       case.currency, "release", {"fraud_case": case.id})
        decision.outcome = "refused"
    case.status = "approved" if approve else "rejected"
    case.reviewer_id, case.note = reviewer_id, note
    return case
