"""Auth work done off the request path, so public answers do the same work whether or not an
account exists (no timing oracle): the request only queues one of these."""

from __future__ import annotations

from sqlalchemy.orm import Session

from api.jobs.registry import hook


@hook("auth.password_forgot", queue="notifications")
def password_forgot(session: Session, email: str, client_ip: str | None = None,
                    request_id: str | None = None) -> None:
    from api.auth.service import send_password_reset

    send_password_reset(session, email, client_ip=client_ip, request_id=request_id)


@hook("auth.verification_resend", queue="notifications")
def verification_resend(session: Session, email: str) -> None:
    from api.auth.service import send_verification_again

    send_verification_again(session, email)
