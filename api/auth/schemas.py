"""Request and response bodies of the auth service."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, EmailStr, Field


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    email: str
    display_name: str
    roles: list[str]
    is_active: bool
    email_verified: bool
    mfa_enabled: bool
    created_at: datetime

    @classmethod
    def of(cls, user) -> "UserOut":
        return cls(id=user.id, email=user.email, display_name=user.display_name,
                   roles=list(user.roles), is_active=user.is_active,
                   email_verified=user.email_verified_at is not None,
                   mfa_enabled=user.mfa_enabled_at is not None, created_at=user.created_at)


# Text that is stored must not hold control characters (PostgreSQL refuses NUL outright).
PLAIN_TEXT = r"^[^\x00-\x1f\x7f]*$"


class _Request(BaseModel):
    # Unknown fields are refused: a typo such as "totp" instead of "totp_code" must not be
    # silently ignored on a security endpoint.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


class RegisterIn(_Request):
    email: EmailStr
    password: str = Field(max_length=1024)
    display_name: str = Field(default="", max_length=120, pattern=PLAIN_TEXT)
    # From an affiliate's referral link: the sign-up is attributed to that affiliate.
    referral_code: str | None = Field(default=None, min_length=4, max_length=32,
                                      pattern=r"^[A-Za-z0-9]+$")


class TokenIn(_Request):
    token: str = Field(min_length=1, max_length=512)


class EmailIn(_Request):
    email: EmailStr


class LoginIn(_Request):
    email: EmailStr
    password: str = Field(max_length=1024)
    totp_code: str | None = Field(default=None, max_length=16)
    recovery_code: str | None = Field(default=None, max_length=32)
    # The device_token of an earlier sign-in from this device (browsers send the ehb_device
    # cookie instead): a known device passes an account lock caused from elsewhere.
    device_token: str | None = Field(default=None, min_length=1, max_length=128,
                                     pattern=r"^[A-Za-z0-9_\-]+$")


class RefreshIn(_Request):
    refresh_token: str = Field(min_length=1, max_length=512)


class LogoutIn(_Request):
    refresh_token: str | None = Field(default=None, max_length=512)


class PasswordChangeIn(_Request):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)
    sign_out_other_sessions: bool = False


class PasswordResetIn(_Request):
    token: str = Field(min_length=1, max_length=512)
    new_password: str = Field(max_length=1024)


class MfaCodeIn(_Request):
    code: str = Field(min_length=1, max_length=16)


class MfaDisableIn(_Request):
    code: str | None = Field(default=None, max_length=32)
    password: str | None = Field(default=None, max_length=1024)


class TokenPairOut(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"
    expires_in: int
    refresh_expires_at: datetime
    session_id: str
    # Login only: keep it and send it with later sign-ins (browsers get it as the HttpOnly
    # ehb_device cookie too).
    device_token: str | None = None


class MessageOut(BaseModel):
    detail: str


class MfaSetupOut(BaseModel):
    secret: str
    provisioning_uri: str


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str]


class SessionOut(BaseModel):
    session_id: str
    started_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_ip: str | None
    current: bool


class EndedOut(BaseModel):
    sessions_ended: int
