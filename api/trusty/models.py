"""Trusty wallet: multi-signature policies and approval requests (transfers and cold-storage
vault moves), and fraud decisions with their review queue."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (BigInteger, CheckConstraint, ForeignKey, Index, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, TimestampMixin


class MultisigPolicy(TimestampMixin, Base):
    """Transfers of `threshold` or more (and every vault move) need `required` of the approvers.
    The threshold is also the owner's wallet approval limit (wallet_approval_limits), which the
    ledger enforces on every route. A change that weakens the policy is a PolicyChange."""

    __tablename__ = "trusty_policies"
    __table_args__ = (
        UniqueConstraint("user_id", "currency", name="uq_trusty_policies_user_currency"),
        CheckConstraint("required >= 1", name="required_positive"),
        CheckConstraint("threshold > 0", name="threshold_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    currency: Mapped[str] = mapped_column(String(3))
    threshold: Mapped[int]
    required: Mapped[int]
    approval_ttl_seconds: Mapped[int] = mapped_column(default=86_400)
    vault_delay_seconds: Mapped[int] = mapped_column(default=86_400)


class PolicyApprover(Base):
    __tablename__ = "trusty_policy_approvers"
    __table_args__ = (UniqueConstraint("policy_id", "user_id", name="uq_trusty_policy_approvers_pair"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("trusty_policies.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))


class ApprovalRequest(TimestampMixin, Base):
    """pending -> approved (-> executed, at once or after the vault delay) | rejected | expired
    | canceled. The amount sits in the requester's hold account while it is not settled.
    The approvers (RequestApprover), quorum and vault delay are those of the policy when the
    request was opened: a later change of the policy does not decide it."""

    __tablename__ = "trusty_requests"
    __table_args__ = (Index("ix_trusty_requests_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("trusty_policies.id"))
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(24))  # transfer | vault_deposit | vault_withdrawal
    to_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    expires_at: Mapped[datetime]
    execute_after: Mapped[datetime | None]
    hold_tx_id: Mapped[int | None]
    settle_tx_id: Mapped[int | None]
    required: Mapped[int]  # the quorum when opened
    vault_delay_seconds: Mapped[int]  # the vault delay when opened


class RequestApprover(Base):
    """Who may decide a request: the policy's approvers when it was opened."""

    __tablename__ = "trusty_request_approvers"

    request_id: Mapped[int] = mapped_column(
        ForeignKey("trusty_requests.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                         primary_key=True, index=True)


class PolicyChange(TimestampMixin, Base):
    """A proposed change that weakens a policy (higher threshold, lower quorum, another
    approver set, shorter vault delay, longer approval ttl): decided by the approvers and
    quorum of the policy in force when it was proposed, then applied after that policy's
    vault delay, cancellable by the owner meanwhile.
    pending -> approved -> applied | rejected | expired | canceled."""

    __tablename__ = "trusty_policy_changes"
    __table_args__ = (Index("ix_trusty_policy_changes_status_expires", "status", "expires_at"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    policy_id: Mapped[int] = mapped_column(ForeignKey("trusty_policies.id", ondelete="CASCADE"),
                                           index=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # the proposal
    threshold: Mapped[int]
    required: Mapped[int]
    approver_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    approval_ttl_seconds: Mapped[int]
    vault_delay_seconds: Mapped[int]
    weakens: Mapped[list[str]] = mapped_column(ARRAY(String(32)))  # what it relaxes
    # who decides, as the policy stood when it was proposed
    decider_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger))
    quorum: Mapped[int]
    delay_seconds: Mapped[int]
    expires_at: Mapped[datetime]
    execute_after: Mapped[datetime | None]
    applied_at: Mapped[datetime | None]


class PolicyChangeVote(Base):
    __tablename__ = "trusty_policy_change_votes"
    __table_args__ = (UniqueConstraint("change_id", "approver_id",
                                       name="uq_trusty_policy_change_votes_once"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    change_id: Mapped[int] = mapped_column(
        ForeignKey("trusty_policy_changes.id", ondelete="CASCADE"), index=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    decision: Mapped[str] = mapped_column(String(8))  # approve | reject
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class Approval(Base):
    __tablename__ = "trusty_approvals"
    __table_args__ = (UniqueConstraint("request_id", "approver_id", name="uq_trusty_approvals_once"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("trusty_requests.id"), index=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    decision: Mapped[str] = mapped_column(String(8))  # approve | reject
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class FraudDecision(Base):
    """Every scored attempt, whatever the outcome (the warehouse reads this)."""

    __tablename__ = "fraud_decisions"
    __table_args__ = (Index("ix_fraud_decisions_user_time", "user_id", "created_at"),
                      # Partial indexes the SQL rules (api/trusty/fraud_sql.py) read.
                      Index("ix_fraud_decisions_user_counterparty_posted", "user_id",
                            "counterparty_id", postgresql_where=text("outcome = 'posted'")),
                      Index("ix_fraud_decisions_user_failures", "user_id", "created_at",
                            postgresql_where=text("outcome IN ('refused', 'failed')")))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(32))
    counterparty_id: Mapped[int | None]
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    device_id: Mapped[str | None] = mapped_column(String(128))
    score: Mapped[int]
    decision: Mapped[str] = mapped_column(String(8))  # allow | review | block
    reasons: Mapped[list[Any]] = mapped_column(JSONB, default=list)
    outcome: Mapped[str] = mapped_column(String(16), default="pending")  # posted|held|refused|failed
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())


class FraudCase(TimestampMixin, Base):
    """A held transfer awaiting support: approve executes it, reject releases the funds."""

    __tablename__ = "fraud_cases"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    decision_id: Mapped[int] = mapped_column(ForeignKey("fraud_decisions.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    to_user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    amount: Mapped[int]
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="open", index=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    note: Mapped[str] = mapped_column(String(300), default="")
    hold_tx_id: Mapped[int | None]
    settle_tx_id: Mapped[int | None]


class FraudVelocity(Base):
    """Decisions per subject ("user:<id>", "ip:<addr>", "device:<id>") per minute, kept by a
    trigger on fraud_decisions, so velocity rules read a few rows whatever the volume."""

    __tablename__ = "fraud_velocity"

    subject: Mapped[str] = mapped_column(Text, primary_key=True)
    minute: Mapped[datetime] = mapped_column(primary_key=True)
    n: Mapped[int]


class FraudUserStats(Base):
    """Posted transfers per user (count and sum) for the amount-above-history rule."""

    __tablename__ = "fraud_user_stats"

    user_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    posted_n: Mapped[int]
    posted_sum: Mapped[int]
