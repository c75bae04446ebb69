"""Security events: append-only facts other services and the warehouse read."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.orm import Session

from api.auth.models import SecurityEvent
from api.core.context import request_id_var

log = logging.getLogger("ehb.auth")

# The event types this service writes (the warehouse relies on these names).
LOGIN_SUCCEEDED = "login_succeeded"
LOGIN_FAILED = "login_failed"
LOGIN_LOCKED = "login_locked"            # a failure that started (or extended) a lockout
LOGIN_THROTTLED = "login_throttled"      # an attempt refused because of a lockout
LOGIN_REFUSED = "login_refused"          # right password, but disabled or unverified account
REFRESH_TOKEN_REUSE = "refresh_token_reuse"
SESSIONS_REVOKED = "sessions_revoked"
PASSWORD_CHANGED = "password_changed"
PASSWORD_CHANGE_FAILED = "password_change_failed"
PASSWORD_RESET_REQUESTED = "password_reset_requested"
PASSWORD_RESET = "password_reset"
EMAIL_VERIFIED = "email_verified"
USER_REGISTERED = "user_registered"
REGISTRATION_EXISTING_EMAIL = "registration_existing_email"  # answered as a new one
MFA_SETUP_STARTED = "mfa_setup_started"
MFA_ENABLED = "mfa_enabled"
MFA_DISABLED = "mfa_disabled"
MFA_RECOVERY_CODE_USED = "mfa_recovery_code_used"
ROLES_CHANGED = "roles_changed"
USER_DISABLED = "user_disabled"
USER_ENABLED = "user_enabled"


def record(session: Session, event_type: str, *, user_id: int | None = None,
           email: str | None = None, client_ip: str | None = None,
           details: dict[str, Any] | None = None,
           request_id: str | None = None) -> SecurityEvent:
    """Add an event to the caller's transaction (committed with it). `request_id` is for jobs
    acting on a request's behalf; by default the current request's."""
    event = SecurityEvent(event_type=event_type, user_id=user_id, email=email,
                          client_ip=client_ip, request_id=request_id or request_id_var.get(),
                          details=details or {})
    session.add(event)
    log.info("security event", extra={"event_type": event_type, "event_user_id": user_id})
    return event
