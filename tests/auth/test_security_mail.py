"""Issue 13 item 1: a stolen access token must not turn into a password reset (or an email
verification) through the owner's own inbox. Security mail (auth.*, security.*) is never
readable through the API, owner included, and the outbox never holds a usable token: the
link is minted when the mail is delivered, and exists only in the mail itself."""

from __future__ import annotations

import json
import re
import uuid

from sqlalchemy import select

from tests.auth.helpers import bearer, login, mailed_token, run_notification_jobs

NEW = "the attackers new passphrase"
TOKEN_LIKE = re.compile(r"[A-Za-z0-9_\-]{32,}")


def _api_texts(client, headers) -> list[str]:
    """Everything the API shows this user about their messages: the list and each detail."""
    listing = client.get("/api/v1/notifications/messages?limit=200", headers=headers)
    assert listing.status_code == 200, listing.text
    texts = [listing.text]
    for message in listing.json():
        detail = client.get(f"/api/v1/notifications/messages/{message['id']}", headers=headers)
        assert detail.status_code == 200, detail.text
        texts.append(detail.text)
    return texts


def _stored_texts(db, user_id: int) -> list[str]:
    """What a reader of the database sees of this user's outbox and its delivery records."""
    from api.notifications.models import DeliveryAttempt, OutboxMessage

    db.expire_all()
    texts = []
    for m in db.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user_id)):
        texts += [m.subject, m.body, json.dumps(m.payload), m.last_error or ""]
        for a in db.scalars(select(DeliveryAttempt).where(DeliveryAttempt.message_id == m.id)):
            texts += [a.error or "", a.provider_ref or ""]
    return texts


def test_stolen_access_token_cannot_reset_the_password_through_the_inbox(
        client, new_client, make_user, db, smtp_server, notify_settings, database_url):
    from api.auth.models import User

    inbox, port = smtp_server
    notify_settings(port)
    owner, password = make_user()
    stolen = bearer(login(client, owner.email, password).json()["access_token"])
    attacker = new_client()
    hash_before = db.get(User, owner.id).password_hash

    r = attacker.post("/api/v1/auth/password/forgot", json={"email": owner.email})
    assert r.status_code == 202
    run_notification_jobs(database_url)
    real_token = mailed_token(inbox, owner.email, "/reset-password")  # the owner's mailbox

    # The attacker reads everything the API shows about the owner's messages ...
    texts = _api_texts(attacker, stolen)
    assert any("auth.password_reset" in t for t in texts)  # the message is listed ...
    assert not any(real_token in t or "token=" in t for t in texts)  # ... its link is not
    # ... and tries every token-like string in it.
    for candidate in {c for t in texts for c in TOKEN_LIKE.findall(t)}:
        r = attacker.post("/api/v1/auth/password/reset",
                          json={"token": candidate, "new_password": NEW})
        assert r.status_code in (400, 422), r.text
    # A reader of the outbox table finds no usable token either.
    assert not any(real_token in t or "token=" in t for t in _stored_texts(db, owner.id))

    db.expire_all()
    assert db.get(User, owner.id).password_hash == hash_before
    assert login(attacker, owner.email, NEW).status_code == 401
    assert login(client, owner.email, password).status_code == 200
    # The link in the owner's own mailbox works (once).
    r = client.post("/api/v1/auth/password/reset", json={"token": real_token,
                                                         "new_password": "the owners new one"})
    assert r.status_code == 200, r.text


def test_verification_link_is_not_readable_through_the_api_or_the_outbox(
        client, db, smtp_server, notify_settings, database_url, auth_headers):
    from api.auth.models import User

    inbox, port = smtp_server
    notify_settings(port)
    email = f"new-{uuid.uuid4().hex[:10]}@example.com"
    r = client.post("/api/v1/auth/register",
                    json={"email": email, "password": "a perfectly fine passphrase"})
    assert r.status_code == 202
    user = db.scalar(select(User).where(User.email == email))
    run_notification_jobs(database_url)
    real_token = mailed_token(inbox, email, "/verify-email")

    # Whoever holds an access token for this account sees no link in its messages.
    texts = _api_texts(client, auth_headers(user))
    assert any("auth.verify_email" in t for t in texts)
    assert not any(real_token in t or "token=" in t for t in texts)
    for candidate in {c for t in texts for c in TOKEN_LIKE.findall(t)}:
        assert client.post("/api/v1/auth/verify-email",
                           json={"token": candidate}).status_code == 400
    assert not any(real_token in t or "token=" in t for t in _stored_texts(db, user.id))
    db.expire_all()
    assert db.get(User, user.id).email_verified_at is None
    # The mailed link verifies the address.
    assert client.post("/api/v1/auth/verify-email", json={"token": real_token}).status_code == 200


def test_no_one_reads_security_mail_bodies_through_the_api(client, db, make_user, auth_headers):
    """Owner and support alike: an auth.* or security.* body is never shown; other mail is."""
    from api.notifications import service

    user, _ = make_user()
    support, _ = make_user(roles=["support"])
    secret = service.enqueue(db, channel="email", category="security.new_device",
                             recipient=user.email, subject="New sign-in",
                             body="code 913-447, https://x/approve?token=SECRET", user_id=user.id).id
    receipt = service.enqueue(db, channel="email", category="payments.receipt",
                              recipient=user.email, subject="Receipt", body="Paid 12.50 USD",
                              user_id=user.id).id
    db.commit()
    for path, headers in ((f"/api/v1/notifications/messages/{secret}", auth_headers(user)),
                          (f"/api/v1/notifications/admin/messages/{secret}",
                           auth_headers(support))):
        r = client.get(path, headers=headers)
        assert r.status_code == 200 and "SECRET" not in r.text and "913-447" not in r.text
    r = client.get(f"/api/v1/notifications/messages/{receipt}", headers=auth_headers(user))
    assert r.json()["body"] == "Paid 12.50 USD"


def _unused_tokens(db, user_id: int) -> int:
    from sqlalchemy import func

    from api.auth.models import EmailToken

    db.expire_all()
    return db.scalar(select(func.count()).select_from(EmailToken).where(
        EmailToken.user_id == user_id, EmailToken.used_at.is_(None)))


def test_a_failed_delivery_leaves_no_token_and_the_retry_mails_a_working_link(
        client, make_user, db, smtp_server, notify_settings):
    from api.auth import email_tokens
    from api.auth.mail import queue_link_mail
    from api.auth.models import User
    from api.notifications.delivery import deliver
    from tests.notifications.conftest import free_port

    inbox, port = smtp_server
    user, _ = make_user()
    message = queue_link_mail(db, db.get(User, user.id), email_tokens.PASSWORD_RESET)
    db.commit()
    assert deliver(db, message.id, settings=notify_settings(free_port())) == "pending"
    assert _unused_tokens(db, user.id) == 0  # the minted token went with the failed attempt
    from datetime import UTC, datetime, timedelta

    later = datetime.now(UTC) + timedelta(hours=1)
    assert deliver(db, message.id, now=later, settings=notify_settings(port)) == "sent"
    assert _unused_tokens(db, user.id) == 1
    token = mailed_token(inbox, user.email, "/reset-password")
    r = client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 200, r.text


def test_a_secret_link_goes_by_email_only(make_user, db):
    """A message naming a renderer on another channel (an SMS sink row, a push through the
    API) is refused for good, and no token is made."""
    from api.notifications import service
    from api.notifications.delivery import deliver
    from api.notifications.models import OutboxMessage

    user, _ = make_user()
    ids = [service.enqueue(db, channel=channel, category="auth.password_reset",
                           recipient=recipient, user_id=user.id, body="Reset: {link}",
                           payload={"render": "auth.email_link", "purpose": "password_reset"}).id
           for channel, recipient in (("sms", "+14155552671"), ("push", str(user.id)))]
    db.commit()
    assert [deliver(db, i) for i in ids] == ["failed", "failed"]
    db.expire_all()
    assert all("email only" in db.get(OutboxMessage, i).last_error for i in ids)
    assert _unused_tokens(db, user.id) == 0


def test_a_link_goes_only_to_the_accounts_own_address(make_user, db):
    from api.notifications import service
    from api.notifications.delivery import deliver
    from api.notifications.models import OutboxMessage

    user, _ = make_user()
    mid = service.enqueue(db, channel="email", category="auth.password_reset",
                          recipient="attacker@example.com", user_id=user.id,
                          body="Reset: {link}",
                          payload={"render": "auth.email_link", "purpose": "password_reset"}).id
    db.commit()
    assert deliver(db, mid) == "failed"
    db.expire_all()
    assert "no longer has this address" in db.get(OutboxMessage, mid).last_error
    assert _unused_tokens(db, user.id) == 0
