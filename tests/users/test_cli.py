"""`ehb users ...` calls the same service functions as the API."""

from __future__ import annotations

import uuid

from typer.testing import CliRunner

from tests.auth.helpers import security_events


def _run(*args: str, env: dict | None = None):
    from api.cli import root

    return CliRunner().invoke(root, ["users", *args], env=env)


def test_create_admin_set_roles_disable_enable(database_url, db):
    from api.auth.models import User
    from api.auth.service import get_user_by_email

    email = f"cli-{uuid.uuid4().hex[:8]}@example.com"
    r = _run("create-admin", "--email", email,
             env={"EHB_ADMIN_PASSWORD": "a perfectly fine passphrase"})
    assert r.exit_code == 0, r.output
    user = get_user_by_email(db, email)
    assert user.roles == ["admin"] and user.email_verified_at is not None
    r = _run("create-admin", "--email", email,
             env={"EHB_ADMIN_PASSWORD": "a perfectly fine passphrase"})
    assert r.exit_code == 1 and "already exists" in r.output

    r = _run("set-roles", email, "analyst", "admin")
    assert r.exit_code == 0 and "roles: admin analyst" in r.output
    r = _run("set-roles", email, "wizard")
    assert r.exit_code == 1 and "unknown role" in r.output
    assert _run("disable", email).exit_code == 0
    db.expire_all()
    assert db.get(User, user.id).is_active is False
    assert security_events(db, "user_disabled", user_id=user.id)[0].details["by"] is None
    assert _run("enable", email).exit_code == 0
    db.expire_all()
    assert db.get(User, user.id).is_active is True
    r = _run("disable", "nobody@example.com")
    assert r.exit_code == 1 and "no user" in r.output


def test_prune(database_url, db, make_user):
    from datetime import UTC, datetime, timedelta

    from api.auth.models import EmailToken, LoginThrottle, RefreshToken

    user, _ = make_user()
    now = datetime.now(UTC)
    key = f"client:prune-{uuid.uuid4().hex[:8]}"
    db.add(LoginThrottle(key=key, failures=2, last_failure_at=now - timedelta(days=1)))
    old = RefreshToken(user_id=user.id, family_id="f" * 32, token_hash=uuid.uuid4().hex * 2,
                       expires_at=now - timedelta(days=8))
    live = RefreshToken(user_id=user.id, family_id="f" * 32, token_hash=uuid.uuid4().hex * 2,
                        expires_at=now + timedelta(days=1))
    old_mail = EmailToken(user_id=user.id, purpose="verify_email", token_hash=uuid.uuid4().hex * 2,
                          expires_at=now - timedelta(days=8))
    db.add_all([old, live, old_mail])
    db.commit()
    ids = (old.id, live.id, old_mail.id)
    r = _run("prune")
    assert r.exit_code == 0 and "removed" in r.output, r.output
    db.expire_all()
    assert db.get(LoginThrottle, key) is None
    assert db.get(RefreshToken, ids[0]) is None and db.get(RefreshToken, ids[1]) is not None
    assert db.get(EmailToken, ids[2]) is None
