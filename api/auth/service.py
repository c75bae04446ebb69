"""Auth service functions. The API, the CLI, the jobs and the simulator all call these."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.models import User
from api.auth.passwords import check_policy, hash_password
from api.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from api.core.permissions import Role


def normalize_email(email: str) -> str:
    return email.strip().lower()


def validate_roles(roles: list[str]) -> list[str]:
    unknown = sorted(set(roles) - {r.value for r in Role})
    if unknown:
        raise Unprocessable(f"unknown role(s): {', '.join(unknown)}",
                            details={"allowed": [r.value for r in Role]})
    if not roles:
        raise Unprocessable("a user needs at least one role")
    return sorted(set(roles))


def get_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(User.email == normalize_email(email)))


def create_user(session: Session, email: str, password: str, *, roles: list[str] | None = None,
                display_name: str = "", verified: bool = False) -> User:
    """Create a user (not committed: callers commit with the rest of their unit of work)."""
    email = normalize_email(email)
    check_policy(password, email=email)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict("an account with this email already exists", code="email_taken")
    user = User(
        email=email,
        display_name=display_name,
        password_hash=hash_password(password),
        roles=validate_roles(roles or [Role.customer.value]),
        email_verified_at=datetime.now(UTC) if verified else None,
    )
    try:
        # A savepoint: a concurrent registration of the same email loses on the unique index
        # and gets the same 409, without spoiling the caller's transaction.
        with session.begin_nested():
            session.add(user)
    except IntegrityError:
        raise Conflict("an account with this email already exists", code="email_taken") from None
    return user


# --- account lifecycle: registration, verification, password change and reset, MFA off ---

def _send_verification(session: Session, user: User) -> None:
    from api.auth import email_tokens
    from api.auth.mail import queue_link_mail

    queue_link_mail(session, user, email_tokens.VERIFY_EMAIL)


def _notify(session: Session, user: User, category: str, subject: str, body: str) -> None:
    from api.notifications.service import enqueue

    enqueue(session, channel="email", category=category, recipient=user.email, user_id=user.id,
            subject=subject, body=body)


def _referral_code_known(session: Session, code: str) -> bool:
    from api.affiliates.models import Affiliate

    return session.scalar(select(func.count()).select_from(Affiliate).where(
        Affiliate.code == code.strip().upper(), Affiliate.status == "approved")) > 0


def _existing_account_tried(session: Session, user: User, password: str,
                            referral_code: str | None, client_ip: str | None) -> None:
    """Registration for an email that has an account: refused the way a new registration
    would be (weak password, unknown referral code), otherwise the account's owner is told by
    mail and the caller answers exactly as for a new account (no account enumeration)."""
    from api.auth import events

    if referral_code and not _referral_code_known(session, referral_code):
        raise Unprocessable("unknown referral code", code="unknown_referral_code")
    hash_password(password)  # the same work as a new registration: no timing difference
    _notify(session, user, "auth.registration_attempt", "Someone tried to register with your "
            "email address",
            "Someone tried to create an account with this email address, which already has "
            "one. If it was you, sign in or reset your password. If not, you can ignore this "
            "message: nothing was changed.")
    events.record(session, events.REGISTRATION_EXISTING_EMAIL, user_id=user.id,
                  email=user.email, client_ip=client_ip)
    session.commit()


def register(session: Session, email: str, password: str, *, display_name: str = "",
             client_ip: str | None = None, referral_code: str | None = None) -> User | None:
    """A new customer account, unverified; the verification email and the affiliate
    attribution (when a referral code came with it) join the same commit. For an email that
    already has an account: None, after mailing its owner (the API answers the same)."""
    from api.auth import events

    check_policy(password, email=normalize_email(email))
    existing = get_user_by_email(session, email)
    if existing is not None:
        _existing_account_tried(session, existing, password, referral_code, client_ip)
        return None
    try:
        user = create_user(session, email, password, display_name=display_name)
    except Conflict:  # registered concurrently: the other registration won the email
        session.rollback()
        _existing_account_tried(session, get_user_by_email(session, email), password,
                                referral_code, client_ip)
        return None
    if referral_code:
        from api.affiliates.service import attribute_signup

        try:
            attribute_signup(session, user.id, referral_code)
        except NotFound:
            # Nothing is kept: the caller's session rolls back with this error.
            raise Unprocessable("unknown referral code", code="unknown_referral_code") from None
    _send_verification(session, user)
    events.record(session, events.USER_REGISTERED, user_id=user.id, email=user.email,
                  client_ip=client_ip)
    session.commit()
    return user


def resend_verification(session: Session, email: str) -> None:
    """Queue the resend; the job mails a new link if the account exists and is unverified. The
    request does the same work either way (no user lookup on the request path). Commits."""
    from api.jobs.service import defer

    defer(session, "hooks.auth.verification_resend", email=normalize_email(email))
    session.commit()


def send_verification_again(session: Session, email: str) -> None:
    """The resend job: a new link if the account exists, is active and unverified."""
    user = get_user_by_email(session, email)
    if user is not None and user.is_active and user.email_verified_at is None:
        _send_verification(session, user)
        session.commit()


def verify_email(session: Session, token: str, *, client_ip: str | None = None) -> User:
    from api.auth import email_tokens, events

    user = email_tokens.consume(session, token, email_tokens.VERIFY_EMAIL)
    if user.email_verified_at is None:
        user.email_verified_at = datetime.now(UTC)
    events.record(session, events.EMAIL_VERIFIED, user_id=user.id, email=user.email,
                  client_ip=client_ip)
    session.commit()
    return user


def change_password(session: Session, user_id: int, current_password: str, new_password: str,
                    *, sign_out_other_sessions: bool = False, keep_session: str | None = None,
                    client_ip: str | None = None) -> int:
    """Returns how many other sessions were ended. A wrong current password counts as a
    failed login for the account (a stolen access token must not allow guessing it)."""
    from api.auth import events, login, sessions
    from api.auth.passwords import verify_password

    now = datetime.now(UTC)
    user = session.get(User, user_id)
    client = login.ClientInfo(ip=client_ip)
    login.refuse_if_locked(session, user.email, client, user_id=user.id, now=now,
                           include_client=False)
    if not verify_password(user.password_hash, current_password):
        locked = login.register_failure(session, email=user.email, user_id=user.id, client=client,
                                        reason="bad_current_password", count_client=False,
                                        event_type=events.PASSWORD_CHANGE_FAILED, now=now)
        session.commit()
        if locked:
            from api.auth.throttle import too_many

            raise too_many(locked)
        raise Forbidden("current password is incorrect", code="invalid_password")
    check_policy(new_password, email=user.email)
    if new_password == current_password:
        raise Unprocessable("the new password must differ from the current one",
                            code="same_password")
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    ended = (sessions.revoke_user(session, user.id, "password_changed", keep_family=keep_session)
             if sign_out_other_sessions else 0)
    events.record(session, events.PASSWORD_CHANGED, user_id=user.id, client_ip=client_ip,
                  details={"other_sessions_ended": ended})
    _notify(session, user, "auth.password_changed", "Your password was changed",
            "Your password was just changed. If this was not you, reset it now and contact "
            "support.")
    session.commit()
    return ended


def forgot_password(session: Session, email: str, *, client_ip: str | None = None) -> None:
    """Queue the reset request; the caller answers the same either way. No user lookup on the
    request path: known and unknown emails cost the same statements (one job queued), and the
    job (send_password_reset) does the rest. Commits."""
    from api.core.context import request_id_var
    from api.jobs.service import defer

    defer(session, "hooks.auth.password_forgot", email=normalize_email(email),
          client_ip=client_ip, request_id=request_id_var.get())
    session.commit()


def send_password_reset(session: Session, email: str, *, client_ip: str | None = None,
                        request_id: str | None = None) -> None:
    """The reset request's job: mail a reset link if the account exists and is active (the
    link is minted when the mail is delivered, see api.auth.mail); record the request."""
    from api.auth import email_tokens, events
    from api.auth.mail import queue_link_mail

    user = get_user_by_email(session, email)
    exists = user is not None and user.is_active
    if exists:
        queue_link_mail(session, user, email_tokens.PASSWORD_RESET)
    events.record(session, events.PASSWORD_RESET_REQUESTED, user_id=user.id if exists else None,
                  email=normalize_email(email), client_ip=client_ip, request_id=request_id,
                  details={"account_exists": exists})
    session.commit()


def reset_password(session: Session, token: str, new_password: str, *,
                   client_ip: str | None = None) -> User:
    """Set a new password from a reset token; ends every session. A refused password leaves
    the token unused (the whole unit of work rolls back)."""
    from api.auth import email_tokens, events, sessions, throttle

    user = email_tokens.consume(session, token, email_tokens.PASSWORD_RESET)
    check_policy(new_password, email=user.email)
    now = datetime.now(UTC)
    user.password_hash = hash_password(new_password)
    user.password_changed_at = now
    if user.email_verified_at is None:
        user.email_verified_at = now  # the link reached the mailbox: the address is proven
    ended = sessions.revoke_user(session, user.id, "password_reset", now=now)
    throttle.reset_account(session, user.email)  # the owner proved the mailbox
    events.record(session, events.PASSWORD_RESET, user_id=user.id, email=user.email,
                  client_ip=client_ip, details={"sessions_ended": ended})
    _notify(session, user, "auth.password_changed", "Your password was reset",
            "Your password was reset and every session was signed out.")
    session.commit()
    return user


def disable_mfa(session: Session, user_id: int, *, code: str | None, password: str | None,
                client_ip: str | None = None) -> None:
    """Turn MFA off after proof: a current TOTP or recovery code, or the password."""
    from api.auth import events, login, mfa
    from api.auth.passwords import verify_password

    now = datetime.now(UTC)
    user = session.get(User, user_id)
    if user.mfa_enabled_at is None:
        raise Conflict("multi-factor authentication is not enabled", code="mfa_not_enabled")
    if not code and not password:
        raise Unprocessable("send a current code or your password", code="proof_required")
    client = login.ClientInfo(ip=client_ip)
    login.refuse_if_locked(session, user.email, client, user_id=user.id, now=now,
                           include_client=False)
    if code:
        ok = mfa.accept_totp(session, user, code) or mfa.use_recovery_code(session, user, code)
    else:
        ok = verify_password(user.password_hash, password)
    if not ok:
        session.rollback()
        locked = login.register_failure(session, email=user.email, user_id=user.id, client=client,
                                        reason="bad_mfa_disable_proof", count_client=False,
                                        event_type=events.LOGIN_FAILED, now=now)
        session.commit()
        if locked:
            from api.auth.throttle import too_many

            raise too_many(locked)
        raise Forbidden("the code or password is not valid", code="invalid_proof")
    mfa.clear(session, user)
    events.record(session, events.MFA_DISABLED, user_id=user.id, client_ip=client_ip,
                  details={"proof": "code" if code else "password"})
    _notify(session, user, "auth.mfa_disabled", "Two-factor authentication was turned off",
            "Two-factor authentication was turned off for your account. If this was not you, "
            "reset your password now.")
    session.commit()


def revoke_other_sessions(session: Session, user_id: int, keep_session: str | None, *,
                          client_ip: str | None = None) -> int:
    from api.auth import events, sessions

    ended = sessions.revoke_user(session, user_id, "signed_out_by_user", keep_family=keep_session)
    events.record(session, events.SESSIONS_REVOKED, user_id=user_id, client_ip=client_ip,
                  details={"ended": ended, "kept": keep_session})
    session.commit()
    return ended


def revoke_session(session: Session, user_id: int, family_id: str, *,
                   client_ip: str | None = None) -> None:
    """End one of the user's own sessions (e.g. a lost phone) by its session id."""
    from api.auth import events, sessions
    from api.core.errors import NotFound

    live = {s.family_id for s in sessions.active_sessions(session, user_id)}
    if family_id not in live:
        raise NotFound("no active session with this id", code="session_not_found")
    sessions.revoke_family(session, family_id, "signed_out_by_user")
    events.record(session, events.SESSIONS_REVOKED, user_id=user_id, client_ip=client_ip,
                  details={"ended": 1, "session_id": family_id})
    session.commit()
