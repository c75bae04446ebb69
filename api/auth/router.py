"""/api/v1/auth: registration, login, tokens, sessions, MFA, password change and reset.

Public routes (no bearer token): register, verify-email (+ resend), login, refresh, password
forgot and reset. Every other route depends on CurrentUser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from api.auth import login as login_service
from api.auth import devices, mfa, service, sessions
from api.auth.dependencies import CurrentUser
from api.auth.models import User
from api.auth.schemas import (
    EmailIn,
    EndedOut,
    LoginIn,
    LogoutIn,
    MessageOut,
    MfaCodeIn,
    MfaDisableIn,
    MfaSetupOut,
    PasswordChangeIn,
    PasswordResetIn,
    RecoveryCodesOut,
    RefreshIn,
    RegisterIn,
    SessionOut,
    TokenIn,
    TokenPairOut,
    UserOut,
)
from api.deps import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


def _client(request: Request, device_token: str | None = None) -> login_service.ClientInfo:
    return login_service.ClientInfo(ip=request.client.host if request.client else None,
                                    user_agent=request.headers.get("user-agent"),
                                    device_token=device_token)


def _ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def _tokens(pair: login_service.TokenPair) -> TokenPairOut:
    return TokenPairOut(access_token=pair.access_token, refresh_token=pair.refresh_token,
                        token_type=pair.token_type, expires_in=pair.expires_in,
                        refresh_expires_at=pair.refresh_expires_at, session_id=pair.session_id,
                        device_token=pair.device_token)


def _set_device_cookie(response: Response, device_token: str) -> None:
    from api.auth.settings import get_auth_settings
    from api.settings import get_settings

    response.set_cookie(
        devices.COOKIE_NAME, device_token, path=devices.COOKIE_PATH, httponly=True,
        samesite="strict", secure=get_settings().public_base_url.startswith("https://"),
        max_age=get_auth_settings().known_device_ttl_days * 86400)


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(principal: CurrentUser, session: SessionDep) -> UserOut:
    return UserOut.of(session.get(User, principal.user_id))


@router.post("/register", response_model=MessageOut, status_code=status.HTTP_202_ACCEPTED,
             summary="Create a customer account; a verification link is emailed (the same "
                     "answer whether or not the email already has an account)")
def register(body: RegisterIn, request: Request, session: SessionDep) -> MessageOut:
    service.register(session, body.email, body.password, display_name=body.display_name,
                     client_ip=_ip(request), referral_code=body.referral_code)
    return MessageOut(detail="check your inbox: we sent a message to this address to finish "
                             "signing up")


@router.post("/verify-email", response_model=UserOut, summary="Confirm an email address")
def verify_email(body: TokenIn, request: Request, session: SessionDep) -> UserOut:
    return UserOut.of(service.verify_email(session, body.token, client_ip=_ip(request)))


@router.post("/verify-email/resend", response_model=MessageOut,
             status_code=status.HTTP_202_ACCEPTED, summary="Email a new verification link")
def resend_verification(body: EmailIn, session: SessionDep) -> MessageOut:
    service.resend_verification(session, body.email)
    return MessageOut(detail="if the account exists and is unverified, a new link was sent")


@router.post("/login", response_model=TokenPairOut,
             summary="Email + password (+ totp_code or recovery_code when MFA is on)")
def login(body: LoginIn, request: Request, response: Response,
          session: SessionDep) -> TokenPairOut:
    device = body.device_token or request.cookies.get(devices.COOKIE_NAME)
    pair = login_service.login(session, body.email, body.password, totp_code=body.totp_code,
                               recovery_code=body.recovery_code,
                               client=_client(request, device))
    if pair.device_token:
        _set_device_cookie(response, pair.device_token)
    return _tokens(pair)


@router.post("/refresh", response_model=TokenPairOut,
             summary="Rotate a refresh token; reuse of a rotated one ends that login")
def refresh(body: RefreshIn, request: Request, session: SessionDep) -> TokenPairOut:
    return _tokens(login_service.refresh(session, body.refresh_token, client=_client(request)))


@router.post("/logout", response_model=EndedOut,
             summary="End this login (the refresh token's, else the access token's session)")
def logout(principal: CurrentUser, session: SessionDep, body: LogoutIn | None = None) -> EndedOut:
    ended = login_service.logout(session, principal.user_id,
                                 refresh_token=body.refresh_token if body else None,
                                 session_family=principal.session_family)
    return EndedOut(sessions_ended=ended)


@router.get("/sessions", response_model=list[SessionOut], summary="My active sessions")
def list_sessions(principal: CurrentUser, session: SessionDep) -> list[SessionOut]:
    return [SessionOut(session_id=s.family_id, started_at=s.started_at,
                       last_used_at=s.last_used_at, expires_at=s.expires_at,
                       user_agent=s.user_agent, client_ip=s.client_ip,
                       current=s.family_id == principal.session_family)
            for s in sessions.active_sessions(session, principal.user_id)]


@router.post("/sessions/revoke-others", response_model=EndedOut,
             summary="End every session but this one")
def revoke_others(principal: CurrentUser, request: Request, session: SessionDep) -> EndedOut:
    return EndedOut(sessions_ended=service.revoke_other_sessions(
        session, principal.user_id, principal.session_family, client_ip=_ip(request)))


@router.post("/sessions/{session_id}/revoke", response_model=EndedOut,
             summary="End one of my sessions by its id")
def revoke_session(session_id: Annotated[str, Path(min_length=32, max_length=32,
                                                   pattern="^[0-9a-f]{32}$")],
                   principal: CurrentUser, request: Request, session: SessionDep) -> EndedOut:
    service.revoke_session(session, principal.user_id, session_id, client_ip=_ip(request))
    return EndedOut(sessions_ended=1)


@router.post("/password/change", response_model=EndedOut, summary="Change my password")
def change_password(body: PasswordChangeIn, principal: CurrentUser, request: Request,
                    session: SessionDep) -> EndedOut:
    ended = service.change_password(
        session, principal.user_id, body.current_password, body.new_password,
        sign_out_other_sessions=body.sign_out_other_sessions,
        keep_session=principal.session_family, client_ip=_ip(request))
    return EndedOut(sessions_ended=ended)


@router.post("/password/forgot", response_model=MessageOut, status_code=status.HTTP_202_ACCEPTED,
             summary="Email a reset link (same answer whether or not the account exists)")
def forgot_password(body: EmailIn, request: Request, session: SessionDep) -> MessageOut:
    service.forgot_password(session, body.email, client_ip=_ip(request))
    return MessageOut(detail="if an account exists for this email, a reset link was sent")


@router.post("/password/reset", response_model=MessageOut,
             summary="Set a new password with a reset token; every session is signed out")
def reset_password(body: PasswordResetIn, request: Request, session: SessionDep) -> MessageOut:
    service.reset_password(session, body.token, body.new_password, client_ip=_ip(request))
    return MessageOut(detail="password was reset; sign in with the new password")


@router.post("/mfa/setup", response_model=MfaSetupOut,
             summary="Start TOTP setup: a secret and provisioning URI (not yet enabled)")
def mfa_setup(principal: CurrentUser, request: Request, session: SessionDep) -> MfaSetupOut:
    user = session.get(User, principal.user_id)
    secret, uri = mfa.begin_setup(session, user, client_ip=_ip(request))
    return MfaSetupOut(secret=secret, provisioning_uri=uri)


@router.post("/mfa/confirm", response_model=RecoveryCodesOut,
             summary="Enable TOTP with a first code; returns 10 single-use recovery codes")
def mfa_confirm(body: MfaCodeIn, principal: CurrentUser, request: Request,
                session: SessionDep) -> RecoveryCodesOut:
    user = session.get(User, principal.user_id)
    return RecoveryCodesOut(recovery_codes=mfa.confirm(session, user, body.code,
                                                       client_ip=_ip(request)))


@router.post("/mfa/disable", response_model=MessageOut,
             summary="Turn TOTP off with a current code (or recovery code) or the password")
def mfa_disable(body: MfaDisableIn, principal: CurrentUser, request: Request,
                session: SessionDep) -> MessageOut:
    service.disable_mfa(session, principal.user_id, code=body.code, password=body.password,
                        client_ip=_ip(request))
    return MessageOut(detail="two-factor authentication is off")
