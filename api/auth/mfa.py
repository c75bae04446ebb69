"""TOTP multi-factor (pyotp) and single-use recovery codes.

Each TOTP code works once: the accepted time step is stored in users.mfa_last_timestep and
only later steps are accepted. Recovery codes have 50 bits of entropy, so an HMAC-SHA256 with
a server-side pepper is enough (and lets login find a code with one indexed lookup)."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from datetime import UTC, datetime

import pyotp
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from api.auth import events
from api.auth.models import RecoveryCode, User
from api.auth.settings import get_auth_settings
from api.core.errors import AppError, Conflict

log = logging.getLogger("ehb.auth")
VALID_WINDOW = 1  # one 30 s step either side for clock drift
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no look-alikes (0/o, 1/l/i)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret)


def accept_totp(session: Session, user: User, code: str, now: float | None = None) -> bool:
    """True if the code matches a time step newer than the last accepted one; that step is
    then claimed with a conditional UPDATE, so two concurrent uses of one code cannot both
    pass (the second waits for the first's row lock, then finds the step taken)."""
    secret = user.mfa_secret  # decrypted by the column type (api.core.fieldcrypt)
    code = code.strip().replace(" ", "")
    if not secret or not (code.isdigit() and len(code) == 6):
        return False
    totp = _totp(secret)
    current = totp.timecode(now if now is not None else time.time())
    last = user.mfa_last_timestep or 0
    for step in range(current - VALID_WINDOW, current + VALID_WINDOW + 1):
        if step > last and hmac.compare_digest(totp.generate_otp(step), code):
            claimed = session.execute(
                update(User).where(User.id == user.id, or_(User.mfa_last_timestep.is_(None),
                                                           User.mfa_last_timestep < step))
                .values(mfa_last_timestep=step)
            ).rowcount
            if claimed != 1:
                return False
            set_committed_value(user, "mfa_last_timestep", step)
            return True
    return False


def _normalize(code: str) -> str:
    return code.strip().lower().replace("-", "").replace(" ", "")


def hash_recovery_code(code: str) -> str:
    return hmac.new(get_auth_settings().pepper_bytes(), _normalize(code).encode(),
                    hashlib.sha256).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{raw[:5]}-{raw[5:]}"


def use_recovery_code(session: Session, user: User, code: str) -> bool:
    row = session.scalar(select(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.code_hash == hash_recovery_code(code),
        RecoveryCode.used_at.is_(None)).with_for_update())
    if row is None:
        return False
    row.used_at = datetime.now(UTC)
    return True


def begin_setup(session: Session, user: User, client_ip: str | None = None) -> tuple[str, str]:
    """Store a new secret (not yet enabled); returns (secret, provisioning URI). Commits."""
    if user.mfa_enabled_at is not None:
        raise Conflict("multi-factor authentication is already enabled; disable it first",
                       code="mfa_already_enabled")
    secret = pyotp.random_base32()
    user.mfa_secret = secret
    user.mfa_last_timestep = None
    events.record(session, events.MFA_SETUP_STARTED, user_id=user.id, client_ip=client_ip)
    session.commit()
    uri = _totp(secret).provisioning_uri(name=user.email,
                                         issuer_name=get_auth_settings().totp_issuer)
    return secret, uri


def confirm(session: Session, user: User, code: str, client_ip: str | None = None) -> list[str]:
    """Enable MFA with a first valid code; returns the recovery codes (shown once). Commits."""
    if user.mfa_enabled_at is not None:
        raise Conflict("multi-factor authentication is already enabled", code="mfa_already_enabled")
    if not user.mfa_secret:
        raise Conflict("start with POST /auth/mfa/setup", code="mfa_not_set_up")
    if not accept_totp(session, user, code):
        # 400, not 401: the caller is signed in; only the code is wrong.
        raise AppError("the code is not valid; check the authenticator app's time",
                       code="invalid_mfa_code")
    user.mfa_enabled_at = datetime.now(UTC)
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(get_auth_settings().recovery_code_count)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=hash_recovery_code(c)) for c in codes)
    events.record(session, events.MFA_ENABLED, user_id=user.id, client_ip=client_ip)
    session.commit()
    return codes


def clear(session: Session, user: User) -> None:
    """Turn MFA off and drop its secret and recovery codes (not committed)."""
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_timestep = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))


def remaining_recovery_codes(session: Session, user_id: int) -> int:
    from sqlalchemy import func

    return session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))) or 0
