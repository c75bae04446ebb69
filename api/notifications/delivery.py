"""Delivering outbox messages: preferences honoured, one attempt recorded per try, failures
retried with exponential backoff (a follow-up job deferred in the same transaction), and a
final status per message: sent, skipped (opted out) or failed (permanent error or attempts
exhausted)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.notifications import channels
from api.notifications.models import DeliveryAttempt, OutboxMessage
from api.notifications.preferences import is_allowed
from api.notifications.renderers import body_to_send
from api.notifications.settings import NotificationSettings, get_notification_settings

log = logging.getLogger("ehb.notifications")


def backoff_seconds(attempt: int, settings: NotificationSettings) -> int:
    """Wait after failed attempt number `attempt` (1-based)."""
    return min(settings.backoff_base_seconds * 2 ** (attempt - 1), settings.backoff_max_seconds)


def _send(session: Session, message: OutboxMessage, settings: NotificationSettings) -> str:
    # Rendered here, inside the attempt's savepoint: a secret the renderer makes (a token's
    # hash) is kept only if the mail went out, and its text is never written to the outbox.
    # Only email may carry one (body_to_send refuses the others), so SMS and push send the
    # stored body.
    body = body_to_send(session, message)
    if message.channel == "email":
        return channels.send_email(message, settings, body)
    if message.channel == "sms":
        return channels.send_sms(session, message, settings)
    if message.channel == "push":
        return channels.send_push(session, message)
    raise channels.DeliveryError(f"unknown channel {message.channel!r}", permanent=True)


def deliver(session: Session, message_id: int, *, now: datetime | None = None,
            settings: NotificationSettings | None = None, schedule_retry: bool = True) -> str:
    """Try one message once; commits. Returns its status afterwards, or "busy"/"not_due"/
    "missing" when there was nothing to do (another worker holds it, it waits for its retry
    time, or it does not exist)."""
    settings = settings or get_notification_settings()
    now = now or datetime.now(UTC)
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.id == message_id)
        .with_for_update(skip_locked=True)
    ).first()
    if message is None:
        session.rollback()
        exists = session.get(OutboxMessage, message_id) is not None
        return "busy" if exists else "missing"
    if message.status != "pending":
        session.rollback()
        return message.status
    if message.next_attempt_at is not None and message.next_attempt_at > now:
        session.rollback()
        return "not_due"

    attempt_no = message.attempts + 1
    if not is_allowed(session, message.user_id, message.channel, message.category):
        message.status = "skipped"
        message.last_error = None
        session.add(DeliveryAttempt(message_id=message.id, attempt=attempt_no,
                                    channel=message.channel, outcome="skipped",
                                    error="recipient opted out of this channel and category"))
        session.commit()
        return "skipped"

    started = time.monotonic()
    try:
        with session.begin_nested():  # a failed SMS sink write must not poison the record
            ref = _send(session, message, settings)
    except channels.DeliveryError as exc:
        duration = int((time.monotonic() - started) * 1000)
        message.attempts = attempt_no
        message.last_error = str(exc)[:2000]
        final = exc.permanent or attempt_no >= settings.max_attempts
        outcome = "failed"
        if final:
            message.status = "failed"
            message.next_attempt_at = None
        else:
            message.next_attempt_at = now + timedelta(seconds=backoff_seconds(attempt_no, settings))
        session.add(DeliveryAttempt(message_id=message.id, attempt=attempt_no,
                                    channel=message.channel, outcome=outcome,
                                    error=message.last_error, duration_ms=duration))
        if not final and schedule_retry:
            from api.jobs.service import defer

            defer(session, "hooks.notifications.deliver", schedule_at=message.next_attempt_at,
                  message_id=message.id)
        session.commit()
        log.warning("delivery failed", extra={"message_id": message.id, "attempt": attempt_no,
                                               "channel": message.channel, "final": final})
        return message.status
    duration = int((time.monotonic() - started) * 1000)
    message.attempts = attempt_no
    message.status = "sent"
    message.sent_at = now
    message.next_attempt_at = None
    message.last_error = None
    session.add(DeliveryAttempt(message_id=message.id, attempt=attempt_no,
                                channel=message.channel, outcome="sent", provider_ref=ref,
                                duration_ms=duration))
    session.commit()
    return "sent"


def due_message_ids(session: Session, *, now: datetime, limit: int) -> list[int]:
    return list(session.scalars(
        select(OutboxMessage.id).where(
            OutboxMessage.status == "pending",
            or_(OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now))
        .order_by(OutboxMessage.id).limit(limit)))


def deliver_due(session: Session, *, now: datetime | None = None,
                settings: NotificationSettings | None = None) -> dict[str, int]:
    """Sweep: one attempt for every pending message that is due (catches anything whose job
    was lost, and messages written before the worker ran). Returns counts per outcome."""
    settings = settings or get_notification_settings()
    now = now or datetime.now(UTC)
    outcomes: dict[str, int] = {}
    for message_id in due_message_ids(session, now=now, limit=settings.due_batch_size):
        status = deliver(session, message_id, now=now, settings=settings, schedule_retry=False)
        outcomes[status] = outcomes.get(status, 0) + 1
    return outcomes
