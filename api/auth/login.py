"""Authentication: login (password, then TOTP or recovery code when MFA is on), refresh,
logout. Failures feed the brute-force throttle and the security event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import events, mfa, sessions, throttle
from api.auth.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from api.auth.service import get_user_by_email, normalize_email
from api.auth.settings import get_auth_settings
from api.auth.tokens import issue_access_token
from api.core.errors import AppError, Forbidden, Unauthorized
from api.settings import get_settings


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_at: datetime
    session_id: str
    token_type: str = "bearer"


def _pair(user_id: int, issued: sessions.IssuedRefresh) -> TokenPair:
    settings = get_settings()
    return TokenPair(issue_access_token(settings, user_id, issued.family_id), issued.token,
                     settings.access_token_ttl_seconds, issued.expires_at, issued.family_id)


def register_failure(session: Session, *, email: str, user_id: int | None, client: ClientInfo,
                     reason: str, event_type: str = events.LOGIN_FAILED,
                     count_client: bool = True, now: datetime) -> int:
    """Count a failed credential check against the account (and the client); record it and
    any lockout it causes. Not committed. Returns the lock in seconds (0 if none)."""
    settings = get_auth_settings()
    locks = {"account": throttle.register_failure(
        session, throttle.account_key(email), settings.account_max_failures, settings, now)}
    if count_client:
        locks["client"] = throttle.register_failure(
            session, throttle.client_key(client.ip), settings.client_max_failures, settings, now)
    events.record(session, event_type, user_id=user_id, email=email, client_ip=client.ip,
                  details={"reason": reason})
    locked = {scope: s for scope, s in locks.items() if s}
    if locked:
        events.record(session, events.LOGIN_LOCKED, user_id=user_id, email=email,
                      client_ip=client.ip, details={"locked_seconds": locked, "reason": reason})
    return max(locked.values(), default=0)


def refuse_if_locked(session: Session, email: str, client: ClientInfo, *, user_id: int | None,
                     now: datetime, include_client: bool = True) -> None:
    keys = [throttle.account_key(email)]
    if include_client:
        keys.append(throttle.client_key(client.ip))
    blocked = throttle.seconds_blocked(session, keys, now)
    if blocked:
        events.record(session, events.LOGIN_THROTTLED, user_id=user_id, email=email,
                      client_ip=client.ip, details={"retry_after": blocked})
        session.commit()
        raise throttle.too_many(blocked)


def _fail(session: Session, *, email: str, user_id: int | None, client: ClientInfo,
          reason: str, error: AppError, now: datetime) -> None:
    locked = register_failure(session, email=email, user_id=user_id, client=client,
                              reason=reason, now=now)
    session.commit()
    if locked:
        raise throttle.too_many(locked)
    raise error


def login(session: Session, email: str, password: str, *, totp_code: str | None = None,
          recovery_code: str | None = None, client: ClientInfo = ClientInfo(),
          now: datetime | None = None) -> TokenPair:
    now = now or datetime.now(UTC)
    email = normalize_email(email)
    # Attempts on one account run one at a time (a transaction-scoped advisory lock), so a
    # burst of parallel guesses cannot all pass the lockout check before the first failure
    # is counted.
    account = throttle.account_key(email)
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(account))))
    user = get_user_by_email(session, email)
    user_id = user.id if user else None
    refuse_if_locked(session, email, client, user_id=user_id, now=now)
    # Verify against a dummy hash for unknown emails so timing does not reveal accounts.
    password_ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not password_ok:
        _fail(session, email=email, user_id=user_id, client=client, reason="bad_password",
              error=Unauthorized("email or password is incorrect", code="invalid_credentials"),
              now=now)
    if not user.is_active:
        events.record(session, events.LOGIN_REFUSED, user_id=user.id, email=email,
                      client_ip=client.ip, details={"reason": "disabled"})
        session.commit()
        raise Forbidden("this account is disabled", code="account_disabled")
    if user.email_verified_at is None:
        events.record(session, events.LOGIN_REFUSED, user_id=user.id, email=email,
                      client_ip=client.ip, details={"reason": "email_not_verified"})
        session.commit()
        raise Forbidden("verify your email address first (POST /api/v1/auth/verify-email/resend "
                        "sends a new link)", code="email_not_verified")
    if user.mfa_enabled_at is not None:
        if not totp_code and not recovery_code:
            raise Unauthorized("this account uses two-factor authentication: send totp_code "
                               "(or a recovery_code)", code="mfa_required")
        if totp_code:
            ok = mfa.accept_totp(session, user, totp_code)
        else:
            ok = mfa.use_recovery_code(session, user, recovery_code)
            if ok:
                events.record(session, events.MFA_RECOVERY_CODE_USED, user_id=user.id,
                              client_ip=client.ip,
                              details={"remaining": mfa.remaining_recovery_codes(session, user.id)})
        if not ok:  # a refused code wrote nothing: the failure joins this transaction
            _fail(session, email=email, user_id=user_id, client=client, reason="bad_mfa_code",
                  error=Unauthorized("the two-factor code is not valid or was already used",
                                     code="invalid_mfa_code"), now=now)
    throttle.reset(session, throttle.account_key(email))
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    issued = sessions.start(session, user.id, user_agent=client.user_agent, client_ip=client.ip,
                            now=now)
    events.record(session, events.LOGIN_SUCCEEDED, user_id=user.id, email=email,
                  client_ip=client.ip, details={"session_id": issued.family_id,
                                                "mfa": user.mfa_enabled_at is not None})
    session.commit()
    return _pair(user.id, issued)


def refresh(session: Session, refresh_token: str, *,
            client: ClientInfo = ClientInfo()) -> TokenPair:
    user, issued = sessions.rotate(session, refresh_token, user_agent=client.user_agent,
                                   client_ip=client.ip)
    return _pair(user.id, issued)


def logout(session: Session, user_id: int, *, refresh_token: str | None,
           session_family: str | None) -> int:
    """End one login (the refresh token's family, else the access token's). Commits."""
    if refresh_token:
        row = sessions.find_family(session, refresh_token)
        if row is None or row.user_id != user_id:
            raise AppError("refresh token is not one of your sessions",
                           code="invalid_refresh_token")
        family = row.family_id
    elif session_family:
        family = session_family
    else:
        raise AppError("send the refresh token of the session to end", code="no_session")
    ended = sessions.revoke_family(session, family, "logout")
    session.commit()
    return 1 if ended else 0
