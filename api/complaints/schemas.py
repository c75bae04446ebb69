"""Request and response shapes. Free text goes through the shared validation layer."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.validation import StrictId, clean_text

Category = Literal["order", "payment", "delivery", "refund", "product", "account", "seller",
                   "other"]
Priority = Literal["low", "normal", "high", "urgent"]
Status = Literal["open", "pending", "resolved", "closed", "reopened"]
Reference = StrictId  # an order or payment id of another service (plain reference)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TicketIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"subject": "Where is my mug?", "body": "Ordered a week ago, no tracking yet.",
         "category": "delivery", "priority": "normal"}]})

    subject: clean_text(max_length=200, min_length=3)
    body: clean_text(max_length=10_000)
    category: Category
    priority: Priority = "normal"
    order_id: Reference | None = Field(default=None,
                                       description="one of the customer's orders (bought or sold)")
    payment_id: Reference | None = Field(default=None,
                                         description="one of the customer's payment intents "
                                                     "(paid or received)")
    customer_id: StrictId | None = Field(default=None,
                                         description="support agents: open the ticket for this "
                                                     "customer (default: yourself)")


class ReplyIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"body": "We have asked the shop for the tracking number.", "internal": False}]})

    body: clean_text(max_length=10_000)
    internal: bool = False


class AssignIn(_In):
    assignee_id: StrictId


class PriorityIn(_In):
    priority: Priority


class ResolveIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"resolution": "The shop re-sent the parcel with tracking."}]})

    resolution: clean_text(max_length=5_000)


class ReopenIn(_In):
    reason: clean_text(max_length=5_000)


class FeedbackIn(_In):
    rating: int = Field(ge=1, le=5, strict=True)
    comment: clean_text(max_length=2_000, min_length=0) = ""


class TicketOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    customer_id: int
    subject: str
    category: str
    priority: str
    status: str
    order_id: int | None
    payment_id: int | None
    assignee_id: int | None
    first_response_due_at: datetime
    resolution_due_at: datetime
    first_responded_at: datetime | None
    first_response_breached_at: datetime | None
    resolution_breached_at: datetime | None
    escalation_level: int
    resolution: str | None
    resolved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    created_at: datetime
    updated_at: datetime


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    author_id: int | None
    author_role: str
    internal: bool
    body: str
    created_at: datetime


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    ticket_id: int
    rating: int
    comment: str
    created_at: datetime


class TicketDetail(TicketOut):
    messages: list[MessageOut]
    feedback: FeedbackOut | None


class SweepOut(BaseModel):
    first_response_breaches: int
    resolution_breaches: int
    escalated: int
