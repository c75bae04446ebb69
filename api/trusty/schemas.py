"""Request and response bodies of /trusty."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.validation import StrictInt64


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyIn(_In):
    threshold: StrictInt64
    required: StrictInt64
    approver_ids: list[StrictInt64] = Field(min_length=1, max_length=20)
    approval_ttl_seconds: StrictInt64 = 86_400
    vault_delay_seconds: StrictInt64 = 86_400


class PolicyOut(BaseModel):
    id: int
    currency: str
    threshold: int
    required: int
    approver_ids: list[int]
    approval_ttl_seconds: int
    vault_delay_seconds: int


class PolicyChangeOut(BaseModel):
    """A proposed change that weakens a policy, waiting for the approvers of the policy in
    force when it was proposed (decider_ids, quorum) and then its delay (delay_seconds)."""

    model_config = ConfigDict(from_attributes=True)
    id: int
    policy_id: int
    requester_id: int
    status: str
    threshold: int
    required: int
    approver_ids: list[int]
    approval_ttl_seconds: int
    vault_delay_seconds: int
    weakens: list[str]
    decider_ids: list[int]
    quorum: int
    delay_seconds: int
    expires_at: datetime
    execute_after: datetime | None
    applied_at: datetime | None
    created_at: datetime


class ProtectedTransferIn(_In):
    to_user_id: StrictInt64
    amount: StrictInt64
    currency: str = Field(min_length=3, max_length=3)
    description: str = Field("", max_length=300)


class VaultMoveIn(_In):
    amount: StrictInt64
    currency: str = Field(min_length=3, max_length=3)


class RequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    requester_id: int
    kind: str
    to_user_id: int | None
    amount: int
    currency: str
    status: str
    expires_at: datetime
    execute_after: datetime | None
    required: int
    created_at: datetime


class ReviewIn(_In):
    note: str = Field("", max_length=300)


class CaseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    decision_id: int
    user_id: int
    to_user_id: int
    amount: int
    currency: str
    status: str
    reviewer_id: int | None
    note: str
    created_at: datetime
