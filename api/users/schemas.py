"""Request and response bodies of user administration."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from api.auth.schemas import UserOut
from api.core.permissions import Role


class RolesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    roles: list[str] = Field(min_length=1, max_length=len(Role))


class UserPage(BaseModel):
    items: list[UserOut]
    total: int
    limit: int
    offset: int
