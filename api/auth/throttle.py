"""Brute-force protection: consecutive failures in login_throttles per (account, client), per
account and per client (IP); after a key's threshold it is locked, the lock doubling with each
further failure up to a maximum. Shared by every instance because it lives in PostgreSQL.

The (account, client) key locks first, and nothing passes it. The account key locks later,
and a known device or a correct second factor passes it (api.auth.login), so failures from
elsewhere cannot lock the owner out. Wrong second-factor codes also count on the account's
mfa key: once that is locked, only a known device passes."""

from __future__ import annotations

import ipaddress
import math
from datetime import datetime, timedelta

from sqlalchemy import case, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.auth.models import LoginThrottle
from api.auth.settings import AuthSettings
from api.core.errors import TooManyRequests


def account_key(email: str) -> str:
    return f"account:{email[:380]}"


def client_key(client_ip: str | None) -> str:
    """IPv4 per address; IPv6 per /64, since one subscriber usually holds a whole /64."""
    if not client_ip:
        return "client:unknown"
    try:
        address = ipaddress.ip_address(client_ip)
    except ValueError:
        return f"client:{client_ip[:200]}"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return f"client:{address.ipv4_mapped}"
        return f"client:{ipaddress.ip_network(f'{address}/64', strict=False)}"
    return f"client:{address}"


def mfa_key(email: str) -> str:
    return f"mfa:{email[:380]}"


def pair_key(email: str, client_id: str) -> str:
    """One account from one client: `client_id` is "device:<id>" for a known device, else the
    client key's address part."""
    return f"pair:{email[:254]}|{client_id[:140]}"  # fits the 400 characters of the key


def pair_client_id(client_ip: str | None, device_id: int | None) -> str:
    if device_id is not None:
        return f"device:{device_id}"
    return client_key(client_ip).removeprefix("client:")


def blocked(session: Session, keys: list[str], now: datetime) -> dict[str, int]:
    """Remaining lock in whole seconds per locked key (keys not locked are absent)."""
    rows = session.execute(select(LoginThrottle.key, LoginThrottle.blocked_until).where(
        LoginThrottle.key.in_(keys), LoginThrottle.blocked_until > now))
    return {key: max(1, math.ceil((until - now).total_seconds())) for key, until in rows}


def lock_seconds(failures: int, threshold: int, settings: AuthSettings) -> int:
    if failures < threshold:
        return 0
    exponent = min(failures - threshold, 30)
    return min(settings.lockout_base_seconds * 2 ** exponent, settings.lockout_max_seconds)


def register_failure(session: Session, key: str, threshold: int, settings: AuthSettings,
                     now: datetime) -> int:
    """Count one failure atomically (concurrent attempts cannot lose a count); returns the
    lock it causes in seconds, 0 when under the threshold."""
    stale = now - timedelta(seconds=settings.failure_window_seconds)
    stmt = insert(LoginThrottle).values(key=key, failures=1, last_failure_at=now)
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={
            "failures": case((LoginThrottle.last_failure_at < stale, 1),
                             else_=LoginThrottle.failures + 1),
            "last_failure_at": now,
        },
    ).returning(LoginThrottle.failures)
    failures = session.execute(stmt).scalar_one()
    seconds = lock_seconds(failures, threshold, settings)
    if seconds:
        session.execute(update(LoginThrottle).where(LoginThrottle.key == key)
                        .values(blocked_until=now + timedelta(seconds=seconds)))
    return seconds


def reset(session: Session, key: str) -> None:
    # An UPDATE only when there is something to clear: most logins write nothing here.
    session.execute(update(LoginThrottle)
                    .where(LoginThrottle.key == key, LoginThrottle.failures > 0)
                    .values(failures=0, blocked_until=None))


def reset_account(session: Session, email: str) -> None:
    """Clear the account's counters and every (account, client) counter of it (the owner
    proved the mailbox: a password reset)."""
    session.execute(update(LoginThrottle)
                    .where(or_(LoginThrottle.key.in_([account_key(email), mfa_key(email)]),
                               LoginThrottle.key.startswith(f"pair:{email[:254]}|",
                                                            autoescape=True)),
                           LoginThrottle.failures > 0)
                    .values(failures=0, blocked_until=None))


def too_many(seconds: int, what: str = "failed attempts") -> TooManyRequests:
    return TooManyRequests(
        f"too many {what}; try again in {seconds} s",
        code="login_locked", details={"retry_after": seconds},
        headers={"Retry-After": str(seconds)},
    )


def prune(session: Session, now: datetime, settings: AuthSettings) -> int:
    """Delete counters that no longer matter (unlocked and older than the failure window), so
    sprayed unknown emails do not grow the table forever. Not committed."""
    from sqlalchemy import delete, or_

    stale = now - timedelta(seconds=settings.failure_window_seconds)
    result = session.execute(delete(LoginThrottle).where(
        or_(LoginThrottle.last_failure_at.is_(None), LoginThrottle.last_failure_at < stale),
        or_(LoginThrottle.blocked_until.is_(None), LoginThrottle.blocked_until < now),
    ))
    return result.rowcount
