"""Notification service functions: writing to the outbox (with its delivery job, in the
caller's transaction) and reading a user's messages."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.errors import NotFound
from api.notifications.models import DeliveryAttempt, OutboxMessage

CHANNELS = ("email", "sms", "push")


def enqueue(session: Session, *, channel: str, category: str, recipient: str, body: str,
            subject: str = "", user_id: int | None = None,
            payload: dict[str, Any] | None = None) -> OutboxMessage:
    """Add a message to the outbox inside the caller's transaction (not committed here), so the
    message exists if and only if the business change that caused it commits. Its delivery job
    is deferred in the same transaction, so delivery starts as soon as it commits."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    message = OutboxMessage(channel=channel, category=category, recipient=recipient,
                            subject=subject, body=body, user_id=user_id, payload=payload or {})
    session.add(message)
    session.flush()
    from api.jobs.service import defer

    defer(session, "hooks.notifications.deliver", message_id=message.id)
    return message


def my_messages(session: Session, user_id: int, *, limit: int, channel: str | None = None
                ) -> list[OutboxMessage]:
    query = select(OutboxMessage).where(OutboxMessage.user_id == user_id)
    if channel:
        query = query.where(OutboxMessage.channel == channel)
    return list(session.scalars(query.order_by(OutboxMessage.id.desc()).limit(limit)))


def message_with_attempts(session: Session, message_id: int
                          ) -> tuple[OutboxMessage, list[DeliveryAttempt]]:
    message = session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound(f"message {message_id} does not exist")
    attempts = list(session.scalars(select(DeliveryAttempt).where(
        DeliveryAttempt.message_id == message_id).order_by(DeliveryAttempt.id)))
    return message, attempts
