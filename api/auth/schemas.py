"""Request and response bodies of the auth service."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict


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
