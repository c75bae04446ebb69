"""Authentication: login (password, then TOTP or recovery code when MFA is on), refresh,
logout. Failures feed the brute-force throttle (api.auth.throttle: per account and client
first, then per account, where a known device or a correct second factor passes) and the
security event log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.auth import devices, events, mfa, sessions, throttle
from api.auth.passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password
from api.auth.service import get_user_by_email, normalize_email
from api.auth.settings import get_auth_settings
from api.auth.tokens import issue_access_token
from api.core.errors import AppError, Forbidden, Unauthorized
from api.settings import get_settings


BAD_MFA_CODE = "bad_mfa_code"  # the failure reason that also counts on the account's mfa key


@dataclass(frozen=True)
class ClientInfo:
    ip: str | None = None
    user_agent: str | None = None
    device_token: str | None = None  # the known-device secret it presented (cookie or body)


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_at: datetime
    session_id: str
    token_type: str = "bearer"
    device_token: str | None = None  # the client keeps it: this device is now known


def _pair(user_id: int, issued: sessions.IssuedRefresh, device_token: str | None = None
          ) -> TokenPair:
    settings = get_settings()
    return TokenPair(issue_access_token(settings, user_id, issued.family_id), issued.token,
                     settings.access_token_ttl_seconds, issued.expires_at, issued.family_id,
                     device_token=device_token)


def _keys(email: str, client: ClientInfo, device_id: int | None = None) -> dict[str, str]:
    return {"pair": throttle.pair_key(email, throttle.pair_client_id(client.ip, device_id)),
            "account": throttle.account_key(email),
            "client": throttle.client_key(client.ip),
            "mfa": throttle.mfa_key(email)}


def register_failure(session: Session, *, email: str, user_id: int | None, client: ClientInfo,
                     reason: str, event_type: str = events.LOGIN_FAILED,
                     count_client: bool = True, device_id: int | None = None,
                     now: datetime) -> int:
    """Count a failed credential check against this account from this client, the account and
    (unless count_client is false) the client; record it and any lockout it causes. Not
    committed. Returns the longest lock it caused in seconds (0 if none)."""
    settings = get_auth_settings()
    keys = _keys(email, client, device_id)
    thresholds = {"pair": settings.pair_max_failures, "account": settings.account_max_failures,
                  "client": settings.client_max_failures, "mfa": settings.mfa_max_failures}
    scopes = (["pair", "account"] + (["client"] if count_client else [])
              + (["mfa"] if reason == BAD_MFA_CODE else []))
    locks = {scope: throttle.register_failure(session, keys[scope], thresholds[scope], settings,
                                              now) for scope in scopes}
    events.record(session, event_type, user_id=user_id, email=email, client_ip=client.ip,
                  details={"reason": reason})
    locked = {scope: s for scope, s in locks.items() if s}
    if locked:
        events.record(session, events.LOGIN_LOCKED, user_id=user_id, email=email,
                      client_ip=client.ip, details={"locked_seconds": locked, "reason": reason})
    return max(locked.values(), default=0)


def _throttled(session: Session, seconds: int, *, email: str, user_id: int | None,
               client: ClientInfo) -> None:
    events.record(session, events.LOGIN_THROTTLED, user_id=user_id, email=email,
                  client_ip=client.ip, details={"retry_after": seconds})
    session.commit()
    raise throttle.too_many(seconds)


def refuse_if_locked(session: Session, email: str, client: ClientInfo, *, user_id: int | None,
                     now: datetime, include_client: bool = True) -> None:
    """For checks of a signed-in user's password or code (password change, MFA off): this
    account from this client, and the account."""
    keys = _keys(email, client)
    scopes = ["pair", "account"] + (["client"] if include_client else [])
    locks = throttle.blocked(session, [keys[s] for s in scopes], now)
    if locks:
        _throttled(session, max(locks.values()), email=email, user_id=user_id, client=client)


def _fail(session: Session, *, email: str, user_id: int | None, client: ClientInfo,
          reason: str, error: AppError, device_id: int | None, locked_for_others: int,
          now: datetime) -> None:
    locked = register_failure(session, email=email, user_id=user_id, client=client,
                              reason=reason, device_id=device_id, now=now)
    session.commit()
    # Under a lock this client did not pass, every refusal is the same 429: it must not tell
    # a right password from a wrong one.
    if locked or locked_for_others:
        raise throttle.too_many(max(locked, locked_for_others))
    raise error


def login(session: Session, email: str, password: str, *, totp_code: str | None = None,
          recovery_code: str | None = None, client: ClientInfo = ClientInfo(),
          now: datetime | None = None) -> TokenPair:
    now = now or datetime.now(UTC)
    email = normalize_email(email)
    settings = get_auth_settings()
    # Attempts on one account run one at a time (a transaction-scoped advisory lock), so a
    # burst of parallel guesses cannot all pass the lockout check before the first failure
    # is counted.
    account = throttle.account_key(email)
    session.execute(select(func.pg_advisory_xact_lock(func.hashtext(account))))
    user = get_user_by_email(session, email)
    user_id = user.id if user else None
    device_ttl = timedelta(days=settings.known_device_ttl_days)
    device = (devices.find(session, user.id, client.device_token, now, device_ttl)
              if user else None)
    device_id = device.id if device else None
    keys = _keys(email, client, device_id)
    locks = throttle.blocked(session, list(keys.values()), now)
    # This client's own lock on this account: nothing passes it.
    if keys["pair"] in locks:
        _throttled(session, locks[keys["pair"]], email=email, user_id=user_id, client=client)
    # Locks others may have caused (the whole account, this address, wrong codes from
    # anywhere): a known device passes them; otherwise only a correct second factor does,
    # and not once wrong codes locked the account's mfa key. Refuse now when nothing can pass.
    for_others = 0 if device else max(locks.get(keys[k], 0) for k in ("account", "client", "mfa"))
    if for_others and (not (totp_code or recovery_code) or keys["mfa"] in locks):
        _throttled(session, for_others, email=email, user_id=user_id, client=client)

    def fail(reason: str, error: AppError) -> None:
        _fail(session, email=email, user_id=user_id, client=client, reason=reason, error=error,
              device_id=device_id, locked_for_others=for_others, now=now)

    # Verify against a dummy hash for unknown emails so timing does not reveal accounts.
    password_ok = verify_password(user.password_hash if user else DUMMY_HASH, password)
    if user is None or not password_ok:
        fail("bad_password", Unauthorized("email or password is incorrect",
                                          code="invalid_credentials"))
    if for_others and user.mfa_enabled_at is None:  # no second factor to pass the lock with
        _throttled(session, for_others, email=email, user_id=user_id, client=client)
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
            fail(BAD_MFA_CODE, Unauthorized("the two-factor code is not valid or was already "
                                              "used", code="invalid_mfa_code"))
    throttle.reset(session, keys["pair"])
    for scope in ("account", "mfa"):
        if keys[scope] not in locks:
            # A lock stays for the clients it holds off, even when the owner passes it.
            throttle.reset(session, keys[scope])
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    device_token = devices.remember(session, user.id, client.device_token if device else None,
                                    now)
    issued = sessions.start(session, user.id, user_agent=client.user_agent, client_ip=client.ip,
                            now=now)
    passed = ("known_device" if device and keys["account"] in locks
              else "mfa" if for_others else None)
    events.record(session, events.LOGIN_SUCCEEDED, user_id=user.id, email=email,
                  client_ip=client.ip, details={"session_id": issued.family_id,
                                                "mfa": user.mfa_enabled_at is not None,
                                                "known_device": device is not None,
                                                "passed_lock": passed})
    session.commit()
    return _pair(user.id, issued, device_token)


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
