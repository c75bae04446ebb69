"""Message categories. Security-critical ones are always delivered: a user cannot opt out of
the email that lets them verify their address or reset their password."""

from __future__ import annotations

EMAIL_VERIFICATION = "auth.email_verification"
PASSWORD_RESET = "auth.password_reset"
SECURITY_ALERT = "auth.security_alert"
PAYMENT_RECEIPT = "payments.receipt"
TICKET_REPLY = "complaints.ticket_reply"
TICKET_ESCALATION = "complaints.escalation"

ALL_CATEGORIES = "*"
# Every auth.* and security.* category is security-critical, whichever service writes it.
MANDATORY_PREFIXES = ("auth.", "security.")


def is_mandatory(category: str) -> bool:
    return category.startswith(MANDATORY_PREFIXES)
