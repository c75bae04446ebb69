"""Helpers shared by the auth and users tests."""

from __future__ import annotations

import time

from sqlalchemy import select


def login(client, email: str, password: str, **extra):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password, **extra})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def outbox(db, email: str, category: str):
    """The newest outbox message of a category for an address (tests read tokens from it)."""
    from api.notifications.models import OutboxMessage

    db.expire_all()
    return db.scalar(select(OutboxMessage).where(OutboxMessage.recipient == email.lower(),
                                                 OutboxMessage.category == category)
                     .order_by(OutboxMessage.id.desc()).limit(1))


def security_events(db, event_type: str, *, user_id: int | None = None, email: str | None = None):
    from api.auth.models import SecurityEvent

    db.expire_all()
    stmt = select(SecurityEvent).where(SecurityEvent.event_type == event_type)
    if user_id is not None:
        stmt = stmt.where(SecurityEvent.user_id == user_id)
    if email is not None:
        stmt = stmt.where(SecurityEvent.email == email.lower())
    return list(db.scalars(stmt.order_by(SecurityEvent.id)))


def totp_code(secret: str, offset: int = 0) -> str:
    """The code `offset` 30-second steps from now; waits out a step boundary so a test's
    codes all refer to the same current step."""
    import pyotp

    if time.time() % 30 > 28.5:
        time.sleep(30 - time.time() % 30 + 0.1)
    return pyotp.TOTP(secret).at(time.time(), counter_offset=offset)


def run_notification_jobs(database_url: str) -> None:
    """Run the notifications queue as `ehb worker` would, until no job is due: the reset
    request's job, then the delivery it queued (a worker run with wait=False stops when it
    finds the queue empty, possibly while a running job is still queueing the next one)."""
    import asyncio

    import psycopg

    from api.jobs.app import conninfo
    from api.jobs.worker import run_workers

    for _ in range(5):
        asyncio.run(run_workers(database_url, queues=["notifications"], wait=False,
                                install_signal_handlers=False))
        with psycopg.connect(conninfo(database_url)) as conn:
            due = conn.execute(
                "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'notifications'"
                " AND status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now())"
            ).fetchone()[0]
        if not due:
            return


def mailed_tokens(inbox, email: str, path: str) -> list[str]:
    """Tokens of the links to `path` (e.g. "/reset-password") mailed to `email`, oldest
    first, read from the SMTP server the mail was delivered to."""
    import re

    found = []
    for mail in inbox.to(email.lower()):
        found += re.findall(rf"{re.escape(path)}\?token=([A-Za-z0-9_\-]+)", mail.get_content())
    return found


def mailed_token(inbox, email: str, path: str) -> str:
    """The newest token mailed to `email` for `path`."""
    tokens = mailed_tokens(inbox, email, path)
    assert tokens, f"no {path} link was mailed to {email}"
    return tokens[-1]
