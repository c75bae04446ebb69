"""Multisig policies and their changes.

A policy (per owner and currency) names approvers, a quorum, a threshold (transfers at or
above it wait for the quorum; it is also the owner's wallet approval limit, which the ledger
enforces on every route), an approval ttl and a cold-storage delay.

The owner's token alone must not be enough to undo it. A new policy, or a change that only
tightens it (lower threshold, higher quorum, longer vault delay, shorter approval ttl, the
same approvers), applies at once. Any other change weakens it and becomes a PolicyChange,
decided by the approvers and quorum of the policy in force when it was proposed and applied
after that policy's vault delay, which gives the owner time to notice and cancel. Changing
the approver set in any way counts as weakening: a new approver can be a mule, and fewer
approvers concentrate the decision.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.auth.models import User
from api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.trusty.models import MultisigPolicy, PolicyApprover, PolicyChange, PolicyChangeVote
from api.wallet import service as ledger
from api.wallet.currencies import check_amount, check_currency

OPEN_CHANGE = ("pending", "approved")
MAX_TTL_SECONDS = 90 * 86_400  # a request or change waits for votes at most 90 days
MAX_DELAY_SECONDS = 365 * 86_400


def _now(now: datetime | None = None) -> datetime:
    return now or datetime.now(UTC)


@dataclass(frozen=True)
class Terms:
    threshold: int
    required: int
    approver_ids: tuple[int, ...]  # sorted, distinct
    approval_ttl_seconds: int
    vault_delay_seconds: int

    @classmethod
    def of(cls, threshold: int, required: int, approver_ids: list[int],
           approval_ttl_seconds: int, vault_delay_seconds: int) -> Terms:
        return cls(threshold, required, tuple(sorted(set(approver_ids))), approval_ttl_seconds,
                   vault_delay_seconds)


def weakenings(current: Terms, proposed: Terms) -> list[str]:
    """What the proposal relaxes compared with the policy in force (empty: it only tightens)."""
    relaxed = []
    if proposed.threshold > current.threshold:
        relaxed.append("threshold")
    if proposed.required < current.required:
        relaxed.append("required")
    if proposed.approver_ids != current.approver_ids:
        relaxed.append("approver_ids")
    if proposed.vault_delay_seconds < current.vault_delay_seconds:
        relaxed.append("vault_delay_seconds")
    if proposed.approval_ttl_seconds > current.approval_ttl_seconds:
        relaxed.append("approval_ttl_seconds")
    return relaxed


def tally(deciders: int, quorum: int, votes: Mapping[str, int]) -> str | None:
    """approved once the quorum approves; rejected once it can no longer be reached."""
    if votes.get("approve", 0) >= quorum:
        return "approved"
    if deciders - votes.get("reject", 0) < quorum:
        return "rejected"
    return None


def approvers_of(session: Session, policy_id: int) -> list[int]:
    return list(session.scalars(select(PolicyApprover.user_id)
                                .where(PolicyApprover.policy_id == policy_id)
                                .order_by(PolicyApprover.user_id)))


def policy_for(session: Session, user_id: int, currency: str) -> MultisigPolicy | None:
    return session.scalars(select(MultisigPolicy).where(
        MultisigPolicy.user_id == user_id, MultisigPolicy.currency == currency)).first()


def terms_of(session: Session, policy: MultisigPolicy) -> Terms:
    return Terms(policy.threshold, policy.required, tuple(approvers_of(session, policy.id)),
                 policy.approval_ttl_seconds, policy.vault_delay_seconds)


def proposed_terms(change: PolicyChange) -> Terms:
    return Terms.of(change.threshold, change.required, list(change.approver_ids),
                    change.approval_ttl_seconds, change.vault_delay_seconds)


def _validate(session: Session, user_id: int, currency: str, terms: Terms) -> None:
    check_currency(currency)
    check_amount(terms.threshold)
    approvers = terms.approver_ids
    if user_id in approvers:
        raise Unprocessable("you cannot approve your own requests", code="self_approver")
    if not 1 <= terms.required <= len(approvers):
        raise Unprocessable(f"required approvals must be between 1 and the {len(approvers)} "
                            "approvers named", code="invalid_quorum")
    found = session.scalar(select(func.count()).select_from(User).where(User.id.in_(approvers)))
    if found != len(approvers):
        raise NotFound("an approver does not exist", code="approver_not_found")
    if not (60 <= terms.approval_ttl_seconds <= MAX_TTL_SECONDS
            and 0 <= terms.vault_delay_seconds <= MAX_DELAY_SECONDS):
        raise Unprocessable(f"approval ttl must be between 60 and {MAX_TTL_SECONDS} s and the "
                            f"vault delay between 0 and {MAX_DELAY_SECONDS} s",
                            code="invalid_timing")


def _apply(session: Session, policy: MultisigPolicy, terms: Terms) -> None:
    policy.threshold, policy.required = terms.threshold, terms.required
    policy.approval_ttl_seconds = terms.approval_ttl_seconds
    policy.vault_delay_seconds = terms.vault_delay_seconds
    session.execute(PolicyApprover.__table__.delete().where(PolicyApprover.policy_id == policy.id))
    session.add_all([PolicyApprover(policy_id=policy.id, user_id=a) for a in terms.approver_ids])
    ledger.set_approval_limit(session, policy.user_id, policy.currency, terms.threshold)
    session.flush()


def set_policy(session: Session, *, user_id: int, currency: str, threshold: int, required: int,
               approver_ids: list[int], approval_ttl_seconds: int = 86_400,
               vault_delay_seconds: int = 86_400,
               now: datetime | None = None) -> MultisigPolicy | PolicyChange:
    """Create or tighten the policy at once (the policy), or propose a change that weakens it
    (a pending PolicyChange; the same proposal again returns it). Commits."""
    terms = Terms.of(threshold, required, approver_ids, approval_ttl_seconds,
                     vault_delay_seconds)
    _validate(session, user_id, currency, terms)
    created = session.scalar(insert(MultisigPolicy).values(
        user_id=user_id, currency=currency, threshold=threshold, required=required,
        approval_ttl_seconds=approval_ttl_seconds, vault_delay_seconds=vault_delay_seconds,
    ).on_conflict_do_nothing(constraint="uq_trusty_policies_user_currency")
        .returning(MultisigPolicy.id))
    # The row lock serializes every change of this policy.
    policy = session.scalars(select(MultisigPolicy).where(
        MultisigPolicy.user_id == user_id, MultisigPolicy.currency == currency)
        .with_for_update().execution_options(populate_existing=True)).one()
    if created is None:
        relaxed = weakenings(terms_of(session, policy), terms)
        if relaxed:
            change = _propose(session, policy, user_id, terms, relaxed, _now(now))
            session.commit()
            return change
    _apply(session, policy, terms)
    session.commit()
    return policy


def _propose(session: Session, policy: MultisigPolicy, user_id: int, terms: Terms,
             relaxed: list[str], now: datetime) -> PolicyChange:
    waiting = session.scalars(select(PolicyChange).where(
        PolicyChange.policy_id == policy.id, PolicyChange.status.in_(OPEN_CHANGE))).first()
    if waiting is not None:
        if proposed_terms(waiting) == terms:
            return waiting  # the same proposal again (a retried PUT)
        raise Conflict(f"change {waiting.id} of this policy is {waiting.status}: cancel it before "
                       "proposing another", code="policy_change_pending",
                       details={"change_id": waiting.id, "status": waiting.status})
    change = PolicyChange(
        policy_id=policy.id, requester_id=user_id, status="pending",
        threshold=terms.threshold, required=terms.required, approver_ids=list(terms.approver_ids),
        approval_ttl_seconds=terms.approval_ttl_seconds,
        vault_delay_seconds=terms.vault_delay_seconds, weakens=relaxed,
        decider_ids=approvers_of(session, policy.id), quorum=policy.required,
        delay_seconds=policy.vault_delay_seconds,
        expires_at=now + timedelta(seconds=policy.approval_ttl_seconds))
    session.add(change)
    session.flush()
    return change


def _lock_change(session: Session, change_id: int) -> PolicyChange:
    change = session.scalars(select(PolicyChange).where(PolicyChange.id == change_id)
                             .with_for_update()).first()
    if change is None:
        raise NotFound("policy change not found", code="policy_change_not_found")
    return change


def _apply_change(session: Session, change: PolicyChange, now: datetime) -> None:
    policy = session.scalars(select(MultisigPolicy).where(MultisigPolicy.id == change.policy_id)
                             .with_for_update()).one()
    _apply(session, policy, proposed_terms(change))
    change.status, change.applied_at = "applied", now


def decide_change(session: Session, change_id: int, approver_id: int, decision: str,
                  now: datetime | None = None) -> PolicyChange:
    """An approver's vote (not committed). At the quorum the change waits for the delay (or
    applies at once with none); when the quorum can no longer be reached it is rejected. An
    expired change is marked so and returned (the caller commits and answers 409)."""
    now = _now(now)
    change = _lock_change(session, change_id)
    if approver_id == change.requester_id:
        raise Forbidden("you cannot approve your own policy change", code="self_approval")
    if approver_id not in change.decider_ids:
        raise NotFound("policy change not found", code="policy_change_not_found")
    if change.status == "pending" and change.expires_at <= now:
        change.status = "expired"
        return change
    if change.status != "pending":
        raise Conflict(f"policy change is {change.status}", code="request_not_pending")
    if session.scalar(select(PolicyChangeVote.id).where(
            PolicyChangeVote.change_id == change.id, PolicyChangeVote.approver_id == approver_id)):
        raise Conflict("you already decided on this policy change", code="duplicate_approval")
    session.add(PolicyChangeVote(change_id=change.id, approver_id=approver_id, decision=decision))
    session.flush()
    votes = dict(session.execute(select(PolicyChangeVote.decision, func.count()).where(
        PolicyChangeVote.change_id == change.id).group_by(PolicyChangeVote.decision)).all())
    outcome = tally(len(change.decider_ids), change.quorum, votes)
    if outcome == "approved":
        change.status = "approved"
        change.execute_after = now + timedelta(seconds=change.delay_seconds)
        if change.delay_seconds == 0:
            _apply_change(session, change, now)
    elif outcome == "rejected":
        change.status = "rejected"
    return change


def cancel_change(session: Session, change_id: int, user_id: int) -> PolicyChange:
    change = _lock_change(session, change_id)
    if change.requester_id != user_id:
        raise NotFound("policy change not found", code="policy_change_not_found")
    if change.status not in OPEN_CHANGE:
        raise Conflict(f"policy change is {change.status} and can no longer be canceled",
                       code="request_not_cancelable")
    change.status = "canceled"
    return change


def run_due_changes(session: Session, now: datetime) -> dict[str, int]:
    """Expire stale proposals, apply approved ones whose delay has passed. One transaction per
    change; locked rows are skipped."""
    counts = {"changes_expired": 0, "changes_applied": 0}
    due = session.scalars(select(PolicyChange.id).where(
        ((PolicyChange.status == "pending") & (PolicyChange.expires_at <= now))
        | ((PolicyChange.status == "approved") & (PolicyChange.execute_after <= now)))
        .order_by(PolicyChange.id)).all()
    session.rollback()
    for change_id in due:
        change = session.scalars(select(PolicyChange).where(PolicyChange.id == change_id)
                                 .with_for_update(skip_locked=True)).first()
        if change is None:
            session.rollback()
            continue
        if change.status == "pending" and change.expires_at <= now:
            change.status = "expired"
            counts["changes_expired"] += 1
        elif change.status == "approved" and change.execute_after <= now:
            _apply_change(session, change, now)
            counts["changes_applied"] += 1
        session.commit()
    return counts


def changes_visible_to(session: Session, user_id: int) -> list[PolicyChange]:
    """Changes the user proposed or may decide, newest first."""
    return list(session.scalars(select(PolicyChange).where(
        (PolicyChange.requester_id == user_id) | PolicyChange.decider_ids.any(user_id))
        .order_by(PolicyChange.id.desc()).limit(200)))
