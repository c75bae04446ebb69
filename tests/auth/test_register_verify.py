"""Registration and email verification."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from tests.auth.helpers import login, outbox, run_notification_jobs, security_events

PASSWORD = "a perfectly fine passphrase"


def _email() -> str:
    return f"new-{uuid.uuid4().hex[:10]}@Example.com"


def test_register_mails_a_link_then_verify_enables_login(client, db, mailbox):
    from api.auth.models import EmailToken

    email = _email()
    r = client.post("/api/v1/auth/register",
                    json={"email": email, "password": PASSWORD, "display_name": "Ana"})
    assert r.status_code == 202, r.text
    assert "token" not in r.text  # the token only travels by email
    msg = outbox(db, email, "auth.verify_email")
    assert msg.status == "pending" and "token" not in msg.payload
    token = mailbox.token(email, "/verify-email")
    assert token not in outbox(db, email, "auth.verify_email").body  # only in the mail
    from api.auth.models import User
    user = db.get(User, msg.user_id)
    assert user.email == email.lower() and user.display_name == "Ana"
    assert user.roles == ["customer"] and user.email_verified_at is None
    body = {"id": user.id}
    # Only a hash is stored.
    assert db.scalar(select(func.count()).select_from(EmailToken)
                     .where(EmailToken.token_hash == token)) == 0
    assert security_events(db, "user_registered", user_id=body["id"])

    r = login(client, email, PASSWORD)
    assert r.status_code == 403 and r.json()["error"]["code"] == "email_not_verified"

    r = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 200, r.text
    assert r.json()["email_verified"] is True
    assert login(client, email, PASSWORD).status_code == 200
    # Single use.
    r = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"


def test_verify_refuses_unknown_and_expired_tokens(client, db, mailbox):
    from api.auth.models import EmailToken

    r = client.post("/api/v1/auth/verify-email", json={"token": "not-a-token"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"

    email = _email()
    assert client.post("/api/v1/auth/register",
                       json={"email": email, "password": PASSWORD}).status_code == 202
    token = mailbox.token(email, "/verify-email")
    db.execute(update(EmailToken).where(EmailToken.purpose == "verify_email")
               .where(EmailToken.user_id == outbox(db, email, "auth.verify_email").user_id)
               .values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 1)))
    db.commit()
    r = client.post("/api/v1/auth/verify-email", json={"token": token})
    assert r.status_code == 400 and r.json()["error"]["code"] == "token_expired"
    assert "expired" in r.json()["error"]["message"]


def test_resend_replaces_the_old_link_and_answers_the_same_for_unknown_email(client, mailbox):
    email = _email()
    client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    first = mailbox.token(email, "/verify-email")
    r1 = client.post("/api/v1/auth/verify-email/resend", json={"email": email})
    r2 = client.post("/api/v1/auth/verify-email/resend", json={"email": _email()})
    assert r1.status_code == r2.status_code == 202
    assert r1.json() == r2.json()
    second = mailbox.token(email, "/verify-email")
    assert second != first
    assert client.post("/api/v1/auth/verify-email", json={"token": first}).status_code == 400
    assert client.post("/api/v1/auth/verify-email", json={"token": second}).status_code == 200


def test_register_for_an_existing_email_answers_as_new_and_mails_the_owner(client, db):
    """No account enumeration: the same status and body as a new registration; the account
    is unchanged and its owner gets a "someone tried to register" mail through the outbox."""
    from api.auth.models import User

    email = _email()
    new = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD})
    owner = outbox(db, email, "auth.verify_email").user_id
    db.expire_all()
    password_hash = db.get(User, owner).password_hash
    again = client.post("/api/v1/auth/register",
                        json={"email": email.upper(), "password": "another fine passphrase",
                              "display_name": "Mallory"})
    assert (again.status_code, again.json()) == (new.status_code, new.json()) == (
        202, new.json())
    assert db.scalar(select(func.count()).select_from(User)
                     .where(User.email == email.lower())) == 1
    db.expire_all()
    user = db.get(User, owner)
    assert user.password_hash == password_hash and user.display_name == ""
    mail = outbox(db, email, "auth.registration_attempt")
    assert mail.user_id == owner and "already has one" in mail.body
    assert "token" not in (mail.payload or {})
    assert security_events(db, "registration_existing_email", user_id=owner)
    # A weak password is refused the same way for an existing email and a new one.
    r = client.post("/api/v1/auth/register", json={"email": email, "password": "short"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    # So is an unknown referral code.
    r = client.post("/api/v1/auth/register", json={"email": email, "password": PASSWORD,
                                                   "referral_code": "NOSUCHCODE"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "unknown_referral_code"


def test_register_refuses_weak_and_bad_input_without_writing(client, db):
    from api.auth.models import User
    from api.notifications.models import OutboxMessage

    email = _email()
    assert client.post("/api/v1/auth/register",
                       json={"email": email, "password": PASSWORD}).status_code == 202
    users_before = db.scalar(select(func.count()).select_from(User))
    outbox_before = db.scalar(select(func.count()).select_from(OutboxMessage))

    for bad, code in [("short", "weak_password"), ("password123", "weak_password"),
                      ("x" * 129, "weak_password")]:
        r = client.post("/api/v1/auth/register", json={"email": _email(), "password": bad})
        assert r.status_code == 422 and r.json()["error"]["code"] == code, r.text
    r = client.post("/api/v1/auth/register", json={"email": "not-an-email", "password": PASSWORD})
    assert r.status_code == 422 and "email" in r.json()["error"]["message"]
    # A client cannot pick its own roles.
    r = client.post("/api/v1/auth/register",
                    json={"email": _email(), "password": PASSWORD, "roles": ["admin"]})
    assert r.status_code == 422 and r.json()["error"]["details"][0]["type"] == "extra_forbidden"

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(User)) == users_before
    assert db.scalar(select(func.count()).select_from(OutboxMessage)) == outbox_before


def test_resend_sends_nothing_to_verified_or_disabled_accounts(client, db, make_user,
                                                               database_url):
    from sqlalchemy import update as sql_update

    from api.auth.models import User

    verified, _ = make_user()
    disabled, _ = make_user(verified=False)
    db.execute(sql_update(User).where(User.id == disabled.id).values(is_active=False))
    db.commit()
    for user in (verified, disabled):
        r = client.post("/api/v1/auth/verify-email/resend", json={"email": user.email})
        assert r.status_code == 202
        run_notification_jobs(database_url)  # the resend's job
        assert outbox(db, user.email, "auth.verify_email") is None
