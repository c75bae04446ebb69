"""/api/v1/auth: registration, login, tokens, MFA, password reset."""

from __future__ import annotations

from fastapi import APIRouter

from api.auth.dependencies import CurrentUser
from api.auth.models import User
from api.auth.schemas import UserOut
from api.deps import SessionDep

router = APIRouter(prefix="/auth", tags=["auth"])


@router.get("/me", response_model=UserOut, summary="The signed-in user")
def me(principal: CurrentUser, session: SessionDep) -> UserOut:
    return UserOut.of(session.get(User, principal.user_id))
