"""Brute force: backoff and lockout per account and per client, recorded as events."""

from __future__ import annotations

import uuid

from sqlalchemy import func, select, update

from tests.auth.helpers import login, security_events


def _expire_locks(db, key: str) -> None:
    from api.auth.models import LoginThrottle

    db.execute(update(LoginThrottle).where(LoginThrottle.key == key)
               .values(blocked_until=func.now() - func.make_interval(0, 0, 0, 0, 0, 0, 1)))
    db.commit()


def _throttle(db, key: str):
    from api.auth.models import LoginThrottle

    db.expire_all()
    return db.get(LoginThrottle, key)


def test_lock_duration_doubles_up_to_the_maximum():
    from api.auth.settings import AuthSettings
    from api.auth.throttle import lock_seconds

    s = AuthSettings(lockout_base_seconds=60, lockout_max_seconds=3600)
    assert [lock_seconds(n, 5, s) for n in range(3, 13)] == [
        0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert lock_seconds(10_000, 5, s) == 3600


def test_account_lockout_backoff_and_reset_on_success(client, new_client, make_user, db):
    user, password = make_user()
    codes = [login(client, user.email, "wrong password!").status_code for _ in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    r = login(client, user.email, password)  # even the right password waits
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
    assert 55 <= int(r.headers["retry-after"]) <= 60
    assert "try again in" in r.json()["error"]["message"]
    # The lock is this account from this client: another client is not held off by it.
    assert login(new_client(), user.email, password).status_code == 200
    locked = security_events(db, "login_locked", user_id=user.id)
    assert len(locked) == 1 and locked[0].details["locked_seconds"] == {"pair": 60}
    assert len(security_events(db, "login_throttled", user_id=user.id)) == 1
    assert len(security_events(db, "login_failed", user_id=user.id)) == 5

    # After the lock, the next failure locks again for twice as long.
    key = f"pair:{user.email}|{locked[0].client_ip}"
    _expire_locks(db, key)
    r = login(client, user.email, "wrong again!!")
    assert r.status_code == 429 and 115 <= int(r.headers["retry-after"]) <= 120
    assert _throttle(db, key).failures == 6

    # A successful login clears this client's counter and the account's.
    _expire_locks(db, key)
    assert login(client, user.email, password).status_code == 200
    assert _throttle(db, key).failures == 0 and _throttle(db, key).blocked_until is None
    assert _throttle(db, f"account:{user.email}").failures == 0
    assert login(client, user.email, "wrong password!").status_code == 401


def test_the_whole_account_locks_for_unknown_clients_after_more_failures(new_client,
                                                                        make_user, db):
    from api.auth.settings import get_auth_settings

    settings = get_auth_settings()
    user, password = make_user()
    per_client = settings.pair_max_failures - 1  # under every client's own threshold
    attempts = 0
    while attempts < settings.account_max_failures:
        attacker = new_client()
        for _ in range(min(per_client, settings.account_max_failures - attempts)):
            assert login(attacker, user.email, "wrong password!").status_code in (401, 429)
            attempts += 1
    r = login(new_client(), user.email, password)
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
    locked = security_events(db, "login_locked", user_id=user.id)
    assert locked[-1].details["locked_seconds"] == {"account": 60}


def test_unknown_accounts_lock_too(client):
    email = f"ghost-{uuid.uuid4().hex[:8]}@example.com"
    codes = [login(client, email, "whatever pass").status_code for _ in range(5)]
    assert codes == [401] * 4 + [429]


def test_client_lockout_across_many_accounts(client, new_client, make_user, db):
    from api.auth.settings import get_auth_settings

    threshold = get_auth_settings().client_max_failures
    user, password = make_user()
    codes = [login(client, f"spray-{i}-{uuid.uuid4().hex[:6]}@example.com", "Summer2026!x")
             .status_code for i in range(threshold)]
    assert codes == [401] * (threshold - 1) + [429]
    r = login(client, user.email, password)
    assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    # The same account from another client is fine: only this client is locked.
    assert login(new_client(), user.email, password).status_code == 200
    events = [e for e in security_events(db, "login_locked")
              if e.details.get("locked_seconds", {}).get("client")]
    assert events and events[-1].client_ip.startswith("10.")
    assert events[-1].details["locked_seconds"]["client"] == 60


def test_old_failures_are_forgotten_after_the_window(client, make_user, db):
    from api.auth.models import LoginThrottle

    user, _ = make_user()
    key = f"account:{user.email}"
    for _ in range(3):
        login(client, user.email, "wrong password!")
    assert _throttle(db, key).failures == 3
    db.execute(update(LoginThrottle).where(LoginThrottle.key == key)
               .values(last_failure_at=func.now() - func.make_interval(0, 0, 0, 0, 2)))
    db.commit()
    login(client, user.email, "wrong password!")
    assert _throttle(db, key).failures == 1
    assert db.scalar(select(func.count()).select_from(LoginThrottle)
                     .where(LoginThrottle.key == key)) == 1


def test_deleting_a_throttle_row_records_its_key_for_the_warehouse(db):
    """Migration 0002: the delete trigger of login_throttles records the key column."""
    from sqlalchemy import delete

    from api.auth.models import LoginThrottle
    from api.core.models import DeletedRow

    key = f"client:cleanup-{uuid.uuid4().hex[:8]}"
    db.add(LoginThrottle(key=key, failures=1))
    db.commit()
    db.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
    db.commit()
    rows = db.scalars(select(DeletedRow.row_pk).where(DeletedRow.table_name == "login_throttles"))
    assert key in list(rows)


def test_client_keys_group_ipv6_by_64_and_keep_ipv4_exact():
    from api.auth.throttle import client_key

    assert client_key("203.0.113.7") == "client:203.0.113.7"
    assert client_key("::ffff:203.0.113.7") == "client:203.0.113.7"
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff::9") \
        == "client:2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key(None) == "client:unknown"
    assert client_key("testclient") == "client:testclient"


def test_prune_removes_only_stale_unlocked_counters(db):
    from datetime import UTC, datetime, timedelta

    from api.auth.models import LoginThrottle
    from api.auth.settings import AuthSettings
    from api.auth.throttle import prune

    now = datetime.now(UTC)
    tag = uuid.uuid4().hex[:8]
    rows = {
        "stale": LoginThrottle(key=f"client:{tag}-stale", failures=3,
                               last_failure_at=now - timedelta(hours=2)),
        "recent": LoginThrottle(key=f"client:{tag}-recent", failures=3, last_failure_at=now),
        "locked": LoginThrottle(key=f"client:{tag}-locked", failures=9,
                                last_failure_at=now - timedelta(hours=2),
                                blocked_until=now + timedelta(minutes=5)),
    }
    db.add_all(rows.values())
    db.commit()
    assert prune(db, now, AuthSettings(failure_window_seconds=3600)) >= 1
    db.commit()
    left = set(db.scalars(select(LoginThrottle.key)
                          .where(LoginThrottle.key.like(f"client:{tag}-%"))))
    assert left == {f"client:{tag}-recent", f"client:{tag}-locked"}


def _lock_account_from_other_clients(new_client, email: str) -> None:
    """Twenty wrong passwords, five from each of four fresh clients (addresses): more than
    the account's own threshold, so it is locked for every client it does not know."""
    for _ in range(4):
        attacker = new_client()
        for i in range(5):
            login(attacker, email, f"a wrong guess {i}")


def test_attacker_cannot_lock_the_owner_out_of_a_known_device(client, new_client, make_user,
                                                              db):
    """Issue 13 item 10: five wrong passwords from anywhere used to lock the owner out. The
    attacker's client is throttled (per account and client first, then the whole account for
    unknown clients), but the owner's device, known from an earlier sign-in, gets in."""
    from api.auth.models import User

    owner, password = make_user()
    assert login(client, owner.email, password).status_code == 200  # the owner's device
    hash_before = db.get(User, owner.id).password_hash

    attacker = new_client()
    codes = [login(attacker, owner.email, f"guess {i}!!").status_code for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    assert login(attacker, owner.email, password).status_code == 429  # still throttled
    _lock_account_from_other_clients(new_client, owner.email)
    # The whole account is now locked for clients it does not know, the right password too.
    r = login(new_client(), owner.email, password)
    assert r.status_code == 429 and r.json()["error"]["code"] == "login_locked"
    assert login(attacker, owner.email, password).status_code == 429

    # The owner, from the device they signed in from before, gets in.
    r = login(client, owner.email, password)
    assert r.status_code == 200, r.text
    # Nothing of the account changed, and the attacker is still locked out.
    db.expire_all()
    assert db.get(User, owner.id).password_hash == hash_before
    assert login(attacker, owner.email, password).status_code == 429
    assert login(new_client(), owner.email, password).status_code == 429


def test_a_known_device_cookie_is_per_account_and_cannot_be_made_up(client, new_client,
                                                                    make_user):
    owner, password = make_user()
    other, other_password = make_user()
    device = new_client()
    r = login(device, other.email, other_password)  # this device knows `other` only
    assert r.status_code == 200
    cookie = r.headers["set-cookie"].lower()
    assert "ehb_device=" in cookie and "httponly" in cookie and "samesite=strict" in cookie
    assert "path=/api/v1/auth" in cookie and r.json()["device_token"] in r.headers["set-cookie"]
    _lock_account_from_other_clients(new_client, owner.email)
    assert login(device, owner.email, password).status_code == 429
    forged = new_client()
    forged.cookies.set("ehb_device", "x" * 43, path="/api/v1/auth")
    assert login(forged, owner.email, password).status_code == 429
    r = login(new_client(), owner.email, password, device_token="y" * 43)
    assert r.status_code == 429


def test_a_successful_mfa_passes_an_account_lock(client, new_client, signed_in, db):
    from tests.auth.helpers import bearer, totp_code
    from tests.auth.test_mfa import _enable

    user, password, tokens = signed_in
    secret, _ = _enable(client, bearer(tokens["access_token"]))
    _lock_account_from_other_clients(new_client, user.email)
    phone = new_client()  # a device this account never signed in from
    assert login(phone, user.email, password).status_code == 429  # no code: locked
    r = login(phone, user.email, password, totp_code="000000" if totp_code(secret) != "000000"
              else "111111")
    assert r.status_code == 429  # a wrong code changes nothing
    r = login(phone, user.email, password, totp_code=totp_code(secret))
    assert r.status_code == 200, r.text
    # A right code with a wrong password does not pass either.
    assert login(new_client(), user.email, "not the password", totp_code=totp_code(secret, 1)
                 ).status_code == 429


def test_code_guesses_with_a_known_password_are_throttled_account_wide(client, new_client,
                                                                       signed_in, db):
    """Passing a lock with a second factor must not give someone who knows the password five
    code guesses per address: wrong codes from all clients lock the account's codes, and then
    only the owner's known device gets in."""
    from tests.auth.helpers import bearer, totp_code
    from tests.auth.test_mfa import _enable

    user, password, tokens = signed_in  # `client` is the owner's known device
    secret, _ = _enable(client, bearer(tokens["access_token"]))
    right = totp_code(secret)
    wrong = [c for c in (f"{n:06d}" for n in range(0, 1_000_000, 111_111))
             if c not in {totp_code(secret, k) for k in (-1, 0, 1)}]
    codes = [login(new_client(), user.email, password, totp_code=wrong[i]).status_code
             for i in range(5)]
    assert codes == [401, 401, 401, 401, 429]
    locked = security_events(db, "login_locked", user_id=user.id)
    assert locked[-1].details["locked_seconds"] == {"mfa": 60}
    # A right code from a client the account does not know no longer passes ...
    assert login(new_client(), user.email, password, totp_code=right).status_code == 429
    # ... the owner's device does.
    r = login(client, user.email, password, totp_code=right)
    assert r.status_code == 200, r.text
