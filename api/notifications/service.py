"""Notification service functions."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from api.notifications.models import OutboxMessage

CHANNELS = ("email", "sms", "push")


def enqueue(session: Session, *, channel: str, category: str, recipient: str, body: str,
            subject: str = "", user_id: int | None = None,
            payload: dict[str, Any] | None = None) -> OutboxMessage:
    """Add a message to the outbox inside the caller's transaction (not committed here), so the
    message exists if and only if the business change that caused it commits."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    message = OutboxMessage(channel=channel, category=category, recipient=recipient,
                            subject=subject, body=body, user_id=user_id, payload=payload or {})
    session.add(message)
    session.flush()
    return message
