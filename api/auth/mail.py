"""Auth's mail with single-use links (email verification, password reset).

The outbox holds such a mail without its link: the body has a placeholder and the payload
names the renderer below, which mints the token when the mail is delivered (inside the
delivery attempt's savepoint, so a failed attempt leaves no token behind). The token thus
exists only in the mail that reached the mailbox: an access token (stolen or not) that reads
the owner's messages, support staff, or a reader of the outbox table never sees it."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from api.auth import email_tokens
from api.auth.models import User
from api.notifications.channels import DeliveryError
from api.notifications.models import OutboxMessage
from api.notifications.renderers import renderer

LINK = "{link}"  # where the rendered link goes in a stored body
RENDERER = "auth.email_link"
_PATHS = {email_tokens.VERIFY_EMAIL: "/verify-email",
          email_tokens.PASSWORD_RESET: "/reset-password"}
_CATEGORIES = {email_tokens.VERIFY_EMAIL: "auth.verify_email",
               email_tokens.PASSWORD_RESET: "auth.password_reset"}


def _ttl(purpose: str) -> timedelta:
    from api.auth.settings import get_auth_settings

    settings = get_auth_settings()
    if purpose == email_tokens.VERIFY_EMAIL:
        return timedelta(hours=settings.verify_email_ttl_hours)
    return timedelta(minutes=settings.password_reset_ttl_minutes)


def _text(purpose: str) -> tuple[str, str]:
    ttl = _ttl(purpose)
    if purpose == email_tokens.VERIFY_EMAIL:
        return ("Confirm your email address",
                f"Confirm your email address: {LINK}\nThe link works once and expires in "
                f"{int(ttl.total_seconds() // 3600)} hours.")
    return ("Reset your password",
            f"Reset your password: {LINK}\nThe link works once and expires in "
            f"{int(ttl.total_seconds() // 60)} minutes. If you did not ask for this, ignore "
            "this message.")


def queue_link_mail(session: Session, user: User, purpose: str) -> OutboxMessage:
    """Put a verification or reset mail in the outbox, without its link (not committed)."""
    from api.notifications.service import enqueue

    subject, body = _text(purpose)
    return enqueue(session, channel="email", category=_CATEGORIES[purpose],
                   recipient=user.email, user_id=user.id, subject=subject, body=body,
                   payload={"render": RENDERER, "purpose": purpose})


@renderer(RENDERER)
def render_link(session: Session, message: OutboxMessage) -> str:
    """Mint the token (its hash joins the delivery's transaction) and put its link in the
    body to send. Earlier unused links of the same purpose stop working, as a new request
    always did."""
    from api.settings import get_settings

    purpose = (message.payload or {}).get("purpose")
    if purpose not in _PATHS:
        raise DeliveryError(f"unknown link purpose {purpose!r}", permanent=True)
    user = session.get(User, message.user_id) if message.user_id is not None else None
    # The link goes only to the account's own, current address.
    if user is None or not user.is_active or user.email != message.recipient:
        raise DeliveryError("the account is disabled, gone, or no longer has this address",
                            permanent=True)
    if purpose == email_tokens.VERIFY_EMAIL and user.email_verified_at is not None:
        raise DeliveryError("the address was verified meanwhile", permanent=True)
    token = email_tokens.issue(session, user, purpose, _ttl(purpose))
    url = f"{get_settings().public_base_url.rstrip('/')}{_PATHS[purpose]}?token={token}"
    return message.body.replace(LINK, url)
