"""Races that single-use guarantees must survive: the same TOTP code or the same email in two
transactions at once. Each uses two real sessions and a thread that blocks on the first's
row lock."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from tests.auth.helpers import totp_code


def _in_thread(fn):
    result: dict = {}

    def run():
        try:
            result["value"] = fn()
        except Exception as exc:  # handed back to the test
            result["error"] = exc

    t = threading.Thread(target=run)
    t.start()
    return t, result


def test_one_totp_code_used_by_two_logins_at_once_passes_once(make_user, database_url):
    import pyotp

    from api.auth import mfa
    from api.auth.models import User
    from api.db import new_session

    user, _ = make_user()
    secret = pyotp.random_base32()
    with new_session() as s:
        u = s.get(User, user.id)
        u.mfa_secret = secret
        s.commit()
    code = totp_code(secret)
    with new_session() as first, new_session() as second:
        assert mfa.accept_totp(first, first.get(User, user.id), code) is True
        other = second.get(User, user.id)  # read before the first commits: same last step
        t, result = _in_thread(lambda: mfa.accept_totp(second, other, code))
        time.sleep(0.3)
        assert t.is_alive()  # waiting on the first's row lock
        first.commit()
        t.join(10)
        second.rollback()
    assert result == {"value": False}


def test_same_email_registered_twice_at_once_is_one_user_and_one_409(database_url):
    from api.auth.service import create_user
    from api.core.errors import Conflict
    from api.db import new_session

    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    with new_session() as first, new_session() as second:
        create_user(first, email, "a perfectly fine passphrase")
        t, result = _in_thread(lambda: create_user(second, email, "another fine passphrase"))
        time.sleep(0.3)
        assert t.is_alive()  # blocked on the unique index entry
        first.commit()
        t.join(10)
        second.rollback()
    assert isinstance(result.get("error"), Conflict)
    assert result["error"].code == "email_taken"


def test_a_registration_racing_for_the_same_email_answers_as_new(database_url):
    """The loser of the unique index is answered like a new registration (None from the
    service, 202 from the API) and mails the winner's account instead of a 409."""
    from sqlalchemy import func, select

    from api.auth.models import User
    from api.auth.service import create_user, register
    from api.db import new_session
    from api.notifications.models import OutboxMessage

    email = f"race-{uuid.uuid4().hex[:8]}@example.com"
    with new_session() as first, new_session() as second:
        create_user(first, email, "a perfectly fine passphrase")
        t, result = _in_thread(lambda: register(second, email, "another fine passphrase"))
        time.sleep(0.3)
        assert t.is_alive()  # blocked on the unique index entry
        first.commit()
        t.join(10)
    assert result == {"value": None}
    with new_session() as s:
        assert s.scalar(select(func.count()).select_from(User).where(User.email == email)) == 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.recipient == email,
            OutboxMessage.category == "auth.registration_attempt")) == 1


@pytest.mark.parametrize("purpose", ["verify_email", "password_reset"])
def test_one_email_token_consumed_twice_at_once_passes_once(make_user, database_url, purpose):
    from datetime import timedelta

    from api.auth import email_tokens
    from api.auth.models import User
    from api.core.errors import AppError
    from api.db import new_session

    user, _ = make_user()
    with new_session() as s:
        token = email_tokens.issue(s, s.get(User, user.id), purpose, timedelta(hours=1))
        s.commit()
    with new_session() as first, new_session() as second:
        email_tokens.consume(first, token, purpose)
        t, result = _in_thread(lambda: email_tokens.consume(second, token, purpose))
        time.sleep(0.3)
        assert t.is_alive()
        first.commit()
        t.join(10)
        second.rollback()
    assert isinstance(result.get("error"), AppError) and result["error"].code == "invalid_token"


def test_parallel_wrong_passwords_cannot_overshoot_the_lockout(make_user, database_url):
    """Four failures recorded from one client; two more guesses from it arrive together.
    Serialized per account, the first locks this client out of the account and the second is
    refused without checking its password."""
    from api.auth import login
    from api.auth.models import LoginThrottle
    from api.core.errors import AppError
    from api.db import new_session

    user, _ = make_user()
    for _ in range(4):
        with new_session() as s, pytest.raises(AppError):
            login.login(s, user.email, "wrong password!", client=login.ClientInfo(ip="10.99.0.1"))
    outcomes = []

    def attempt():
        with new_session() as s:
            try:
                login.login(s, user.email, "wrong password!",
                            client=login.ClientInfo(ip="10.99.0.1"))
            except AppError as exc:
                outcomes.append((exc.status_code, exc.code))

    threads = [threading.Thread(target=attempt) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    assert sorted(outcomes) == [(429, "login_locked"), (429, "login_locked")]
    with new_session() as s:
        assert s.get(LoginThrottle, f"pair:{user.email}|10.99.0.1").failures == 5
        assert s.get(LoginThrottle, f"account:{user.email}").failures == 5
