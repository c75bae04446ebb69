"""Delivery channels. Each `send` returns a provider reference or raises DeliveryError
(permanent=True when retrying cannot help, e.g. the recipient address is refused)."""

from __future__ import annotations

import json
import smtplib
import socket
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol

from sqlalchemy import text
from sqlalchemy.orm import Session

from api.notifications.categories import is_mandatory
from api.notifications.models import OutboxMessage, SmsSinkMessage
from api.notifications.settings import NotificationSettings

# One channel for every user: each API process LISTENs once (api.notifications.push) and hands
# a notification to the sockets of the user it names.
PUSH_CHANNEL = "ehb_push"
# pg_notify payloads must stay under 8000 bytes.
_PUSH_BODY_LIMIT = 4000


class DeliveryError(Exception):
    def __init__(self, message: str, *, permanent: bool = False):
        super().__init__(message)
        self.permanent = permanent


def send_email(message: OutboxMessage, settings: NotificationSettings,
               body: str | None = None) -> str:
    """`body` replaces the stored one (a rendered body that must not be stored)."""
    email = EmailMessage()
    email["From"] = settings.mail_from
    email["To"] = message.recipient
    email["Subject"] = message.subject or "(no subject)"
    email["Message-ID"] = msgid = make_msgid(domain="ehb5.local")
    email["X-EHB-Message-Id"] = str(message.id)
    email["X-EHB-Category"] = message.category
    email.set_content(message.body if body is None else body)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port,
                          timeout=settings.smtp_timeout_seconds) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(email)
    except smtplib.SMTPRecipientsRefused as exc:
        raise DeliveryError(f"recipient refused: {exc.recipients}", permanent=True) from None
    except (smtplib.SMTPException, OSError, socket.timeout) as exc:
        raise DeliveryError(f"smtp {settings.smtp_host}:{settings.smtp_port}: "
                            f"{type(exc).__name__}: {exc}") from None
    return msgid


class SmsProvider(Protocol):
    def send(self, session: Session, to_number: str, body: str) -> str: ...


class LocalSmsSink:
    """Writes the SMS to notification_sms_sink (development, tests, simulation)."""

    def send(self, session: Session, to_number: str, body: str) -> str:
        if not to_number.startswith("+") or not to_number[1:].isdigit():
            raise DeliveryError(f"not an E.164 number: {to_number!r}", permanent=True)
        row = SmsSinkMessage(to_number=to_number, body=body)
        session.add(row)
        session.flush()
        return f"local-sms-{row.id}"


SMS_PROVIDERS: dict[str, SmsProvider] = {"local": LocalSmsSink()}


def send_sms(session: Session, message: OutboxMessage, settings: NotificationSettings) -> str:
    provider = SMS_PROVIDERS.get(settings.sms_provider)
    if provider is None:
        raise DeliveryError(f"no SMS provider named {settings.sms_provider!r}")
    return provider.send(session, message.recipient, message.body)


def _clip(body: str, limit: int) -> str:
    """A prefix of body whose JSON form (non-ASCII escaped, up to 12 bytes a character) fits
    in `limit` bytes: a cut by characters alone could overflow pg_notify's 8000 bytes."""
    body = body[:limit]
    while len(json.dumps(body)) > limit:
        body = body[:len(body) * 3 // 4]
    return body


def send_push(session: Session, message: OutboxMessage) -> str:
    """In-app push: NOTIFY the push channel; API processes relay it to the user's WebSockets.
    The NOTIFY is transactional, so it is sent only if the delivery record commits. Security
    messages (auth.*, security.*) are announced by subject only: their bodies are never
    readable through the API."""
    if message.user_id is None:
        raise DeliveryError("push needs a user", permanent=True)
    secret = is_mandatory(message.category)
    payload = json.dumps({
        "type": "notification", "user_id": message.user_id, "id": message.id,
        "category": message.category,
        "subject": message.subject,
        "body": "" if secret else _clip(message.body, _PUSH_BODY_LIMIT),
        "payload": message.payload if not secret and len(json.dumps(message.payload)) < 2000
        else {},
        "created_at": message.created_at.isoformat() if message.created_at else None,
    })
    session.execute(text("SELECT pg_notify(:channel, :payload)"),
                    {"channel": PUSH_CHANNEL, "payload": payload})
    return f"push-{message.user_id}-{message.id}"
