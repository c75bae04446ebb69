"""Password change, forgot and reset."""

from __future__ import annotations

import re

from sqlalchemy import func, select, update

from tests.auth.helpers import (
    bearer,
    login,
    mailed_token,
    mailed_tokens,
    outbox,
    run_notification_jobs,
    security_events,
)

NEW = "another fine passphrase"


def test_change_password_and_optionally_end_other_sessions(client, new_client, make_user, db):
    user, password = make_user()
    here = login(client, user.email, password).json()
    elsewhere = login(new_client(), user.email, password).json()
    r = client.post("/api/v1/auth/password/change", headers=bearer(here["access_token"]),
                    json={"current_password": password, "new_password": NEW,
                          "sign_out_other_sessions": True})
    assert r.status_code == 200, r.text
    assert r.json() == {"sessions_ended": 1}
    assert client.get("/api/v1/auth/me", headers=bearer(here["access_token"])).status_code == 200
    assert client.get("/api/v1/auth/me",
                      headers=bearer(elsewhere["access_token"])).status_code == 401
    assert login(client, user.email, password).status_code == 401
    assert login(client, user.email, NEW).status_code == 200
    changed = security_events(db, "password_changed", user_id=user.id)
    assert len(changed) == 1 and changed[0].details["other_sessions_ended"] == 1
    assert outbox(db, user.email, "auth.password_changed") is not None


def test_change_password_keeps_other_sessions_unless_asked(client, new_client, make_user):
    user, password = make_user()
    here = login(client, user.email, password).json()
    elsewhere = login(new_client(), user.email, password).json()
    r = client.post("/api/v1/auth/password/change", headers=bearer(here["access_token"]),
                    json={"current_password": password, "new_password": NEW})
    assert r.json() == {"sessions_ended": 0}
    # ... and the user can end them afterwards.
    r = client.get("/api/v1/auth/me", headers=bearer(elsewhere["access_token"]))
    assert r.status_code == 200
    r = client.post("/api/v1/auth/sessions/revoke-others", headers=bearer(here["access_token"]))
    assert r.json() == {"sessions_ended": 1}


def test_change_password_refusals_write_nothing_but_the_failure(client, signed_in, db):
    from api.auth.models import User

    user, password, tokens = signed_in
    headers = bearer(tokens["access_token"])
    before = db.get(User, user.id).password_hash
    r = client.post("/api/v1/auth/password/change", headers=headers,
                    json={"current_password": "not my password", "new_password": NEW})
    assert r.status_code == 403 and r.json()["error"]["code"] == "invalid_password"
    assert len(security_events(db, "password_change_failed", user_id=user.id)) == 1
    r = client.post("/api/v1/auth/password/change", headers=headers,
                    json={"current_password": password, "new_password": "qwerty123"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    r = client.post("/api/v1/auth/password/change", headers=headers,
                    json={"current_password": password, "new_password": password})
    assert r.status_code == 422 and r.json()["error"]["code"] == "same_password"
    db.expire_all()
    assert db.get(User, user.id).password_hash == before
    assert security_events(db, "password_changed", user_id=user.id) == []


def test_guessing_the_current_password_locks_the_account(client, signed_in):
    user, password, tokens = signed_in
    headers = bearer(tokens["access_token"])
    codes = [client.post("/api/v1/auth/password/change", headers=headers,
                         json={"current_password": f"guess number {i}", "new_password": NEW})
             .status_code for i in range(5)]
    assert codes == [403, 403, 403, 403, 429]
    r = client.post("/api/v1/auth/password/change", headers=headers,
                    json={"current_password": password, "new_password": NEW})
    assert r.status_code == 429 and "retry-after" in r.headers


def test_forgot_answers_the_same_and_reset_is_single_use(client, new_client, make_user, db,
                                                         mailbox):
    from api.notifications.models import OutboxMessage

    user, password = make_user()
    session_before = login(new_client(), user.email, password).json()
    known = client.post("/api/v1/auth/password/forgot", json={"email": user.email.upper()})
    unknown = client.post("/api/v1/auth/password/forgot", json={"email": "no-one@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    token = mailbox.token(user.email, "/reset-password")
    db.expire_all()
    # Only the known account got a mail.
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.recipient == "no-one@example.com")) == 0
    requested = security_events(db, "password_reset_requested", email="no-one@example.com")
    assert requested[-1].details["account_exists"] is False
    msg = outbox(db, user.email, "auth.password_reset")
    assert msg.status == "sent" and token not in msg.body and token not in known.text

    r = client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 200, r.text
    assert login(client, user.email, NEW).status_code == 200
    assert login(client, user.email, password).status_code == 401
    # Every session that existed before the reset is gone, access tokens included.
    assert client.post("/api/v1/auth/refresh",
                       json={"refresh_token": session_before["refresh_token"]}).status_code == 401
    assert client.get("/api/v1/auth/me",
                      headers=bearer(session_before["access_token"])).status_code == 401
    r = client.post("/api/v1/auth/password/reset",
                    json={"token": token, "new_password": "yet another passphrase"})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
    assert security_events(db, "password_reset", user_id=user.id)[0].details["sessions_ended"] == 1


def test_reset_with_weak_password_does_not_burn_the_token(client, make_user, mailbox):
    user, _ = make_user()
    client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    token = mailbox.token(user.email, "/reset-password")
    r = client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": "abc"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "weak_password"
    r = client.post("/api/v1/auth/password/reset", json={"token": token, "new_password": NEW})
    assert r.status_code == 200


def test_reset_token_expires_and_a_newer_request_replaces_it(client, make_user, db, mailbox):
    from api.auth.models import EmailToken

    user, _ = make_user()
    client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    first = mailbox.token(user.email, "/reset-password")
    client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    second = mailbox.token(user.email, "/reset-password")
    assert second != first
    r = client.post("/api/v1/auth/password/reset", json={"token": first, "new_password": NEW})
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_token"
    db.execute(update(EmailToken).where(EmailToken.user_id == user.id)
               .values(expires_at=EmailToken.created_at))
    db.commit()
    r = client.post("/api/v1/auth/password/reset", json={"token": second, "new_password": NEW})
    assert r.status_code == 400 and r.json()["error"]["code"] == "token_expired"


def test_reset_unlocks_a_locked_account_and_verifies_the_email(client, make_user, db, mailbox):
    from api.auth.models import User

    user, _ = make_user(verified=False)
    for _ in range(5):
        login(client, user.email, "wrong password!")
    client.post("/api/v1/auth/password/forgot", json={"email": user.email})
    token = mailbox.token(user.email, "/reset-password")
    assert client.post("/api/v1/auth/password/reset",
                       json={"token": token, "new_password": NEW}).status_code == 200
    assert login(client, user.email, NEW).status_code == 200
    db.expire_all()
    assert db.get(User, user.id).email_verified_at is not None


def _statements_of(fn) -> list[str]:
    """Every statement sent to PostgreSQL on the engine's connections while fn() runs, the
    driver-level ones too (the job queue's defer bypasses SQLAlchemy): a psycopg cursor class
    that records, installed on each connection as it leaves the pool."""
    import psycopg
    from sqlalchemy import event

    from api.db import get_engine

    seen: list[str] = []

    class Recording(psycopg.Cursor):
        def execute(self, query, params=None, **kwargs):
            seen.append(query if isinstance(query, str) else query.as_string(self.connection)
                        if hasattr(query, "as_string") else bytes(query).decode())
            return super().execute(query, params, **kwargs)

        def executemany(self, query, params_seq, **kwargs):
            seen.append(query if isinstance(query, str) else str(query))
            return super().executemany(query, params_seq, **kwargs)

    def checkout(dbapi_connection, record, proxy):
        dbapi_connection.cursor_factory = Recording

    def checkin(dbapi_connection, record):
        dbapi_connection.cursor_factory = psycopg.Cursor

    engine = get_engine()
    event.listen(engine, "checkout", checkout)
    event.listen(engine, "checkin", checkin)
    try:
        fn()
    finally:
        event.remove(engine, "checkout", checkout)
        event.remove(engine, "checkin", checkin)
    return seen


def test_forgot_does_the_same_database_work_for_known_and_unknown_emails(
        client, make_user, db, smtp_server, notify_settings, database_url):
    """Issue 13 item 11: the answer must not depend on whether the account exists, in time
    either. The request only queues a job: the same statements for both, no user lookup."""
    from api.notifications.models import OutboxMessage

    inbox, port = smtp_server
    notify_settings(port)
    user, _ = make_user()
    unknown = f"no-one-{user.id}@example.com"
    answers = {}

    def ask(email):
        answers[email] = client.post("/api/v1/auth/password/forgot", json={"email": email})

    known_sql = _statements_of(lambda: ask(user.email))
    unknown_sql = _statements_of(lambda: ask(unknown))
    assert answers[user.email].status_code == answers[unknown].status_code == 202
    assert answers[user.email].json() == answers[unknown].json()
    assert known_sql == unknown_sql and known_sql, (known_sql, unknown_sql)
    assert not any(re.search(r"\b(users|email_tokens|notification_outbox|security_events)\b",
                             s) for s in known_sql), known_sql
    # Nothing was looked up or written for the account yet ...
    assert outbox(db, user.email, "auth.password_reset") is None
    # ... the job does it: the owner gets one reset mail, the unknown address nothing.
    run_notification_jobs(database_url)
    assert len(mailed_tokens(inbox, user.email, "/reset-password")) == 1
    assert inbox.to(unknown) == []
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(OutboxMessage)
                     .where(OutboxMessage.recipient == unknown)) == 0
    assert security_events(db, "password_reset_requested", email=unknown)[-1] \
        .details["account_exists"] is False
    assert security_events(db, "password_reset_requested", user_id=user.id)[-1] \
        .details["account_exists"] is True
