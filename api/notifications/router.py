"""/api/v1/notifications: the signed-in user's messages and preferences, in-app push over
WebSocket, and delivery status for support/admin."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, WebSocket
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from api.auth.dependencies import CurrentUser, Principal, require
from api.core.errors import NotFound
from api.deps import SessionDep
from api.notifications import preferences, push, service
from api.notifications.categories import is_mandatory
from api.notifications.models import OutboxMessage
from api.notifications.permissions import NOTIFICATIONS_ADMIN
from api.validation import Id

router = APIRouter(prefix="/notifications", tags=["notifications"])
Staff = Annotated[Principal, Depends(require(NOTIFICATIONS_ADMIN))]
Channel = Literal["email", "sms", "push"]


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    category: str
    subject: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


class AttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    attempt: int
    outcome: str
    error: str | None
    provider_ref: str | None
    duration_ms: int
    created_at: datetime


class MessageDetail(MessageOut):
    recipient: str
    body: str
    last_error: str | None
    delivery_attempts: list[AttemptOut]


class PreferenceIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: Channel
    category: str = Field(min_length=1, max_length=64, pattern=r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*)$")
    enabled: bool


class PreferenceOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    channel: str
    category: str
    enabled: bool


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preferences: list[PreferenceIn] = Field(min_length=1, max_length=100)


REDACTED = "[redacted: security-critical message]"


def _detail(message: OutboxMessage, attempts: list) -> dict[str, Any]:
    data = MessageOut.model_validate(message).model_dump()
    # Security mail (auth.*, security.*) is for the mailbox only: not for staff, and not for
    # the owner either, since an access token (maybe a stolen one) must not become a password
    # reset. Its single-use links are not stored anyway (api.notifications.renderers).
    body = REDACTED if is_mandatory(message.category) else message.body
    data.update(recipient=message.recipient, body=body, last_error=message.last_error,
                delivery_attempts=attempts)
    return data


@router.get("/messages", response_model=list[MessageOut], summary="My notifications, newest first")
def my_messages(principal: CurrentUser, session: SessionDep,
                channel: Channel | None = None,
                limit: int = Query(50, ge=1, le=200)) -> list[OutboxMessage]:
    return service.my_messages(session, principal.user_id, limit=limit, channel=channel)


@router.get("/messages/{message_id}", response_model=MessageDetail,
            summary="One of my notifications with its delivery attempts")
def my_message(message_id: Id, principal: CurrentUser, session: SessionDep) -> dict:
    message, attempts = service.message_with_attempts(session, message_id)
    if message.user_id != principal.user_id:
        raise NotFound(f"message {message_id} does not exist")
    return _detail(message, attempts)


@router.get("/preferences", response_model=list[PreferenceOut], summary="My preferences")
def my_preferences(principal: CurrentUser, session: SessionDep) -> list:
    return preferences.list_preferences(session, principal.user_id)


@router.put("/preferences", response_model=list[PreferenceOut],
            summary="Turn channels/categories on or off (category '*' = whole channel)")
def set_my_preferences(body: PreferencesIn, principal: CurrentUser, session: SessionDep) -> list:
    return preferences.set_preferences(
        session, principal.user_id, [(p.channel, p.category, p.enabled) for p in body.preferences])


@router.get("/admin/messages", response_model=list[MessageOut],
            summary="Outbox messages by delivery status (support, admin)")
def all_messages(principal: Staff, session: SessionDep,
                 status: Literal["pending", "sent", "failed", "skipped"] | None = None,
                 user_id: Id | None = None,
                 limit: int = Query(50, ge=1, le=500)) -> list[OutboxMessage]:
    query = select(OutboxMessage)
    if status:
        query = query.where(OutboxMessage.status == status)
    if user_id is not None:
        query = query.where(OutboxMessage.user_id == user_id)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


@router.get("/admin/messages/{message_id}", response_model=MessageDetail,
            summary="Any message with its delivery attempts (support, admin)")
def any_message(message_id: Id, principal: Staff, session: SessionDep) -> dict:
    return _detail(*service.message_with_attempts(session, message_id))


@router.websocket("/ws")
async def push_socket(websocket: WebSocket, token: str | None = None) -> None:
    """In-app push (see api.notifications.push for the protocol)."""
    await push.serve(websocket, token)
