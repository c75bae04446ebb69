"""/api/v1/users: user administration, admin only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from api.auth.dependencies import Principal, require
from api.auth.schemas import PLAIN_TEXT, UserOut
from api.deps import SessionDep
from api.users import service
from api.users.permissions import USERS_ADMIN
from api.users.schemas import RolesIn, UserPage
from api.validation import Id

router = APIRouter(prefix="/users", tags=["users"])

Admin = Annotated[Principal, Depends(require(USERS_ADMIN))]
UserId = Id


def health_check(session) -> dict:
    # The users table belongs to auth, which checks it; nothing of our own to check.
    return {}


@router.get("", response_model=UserPage, summary="List and search users")
def list_users(
    principal: Admin, session: SessionDep,
    email: Annotated[str | None, Query(max_length=320, pattern=PLAIN_TEXT,
                                       description="email substring")] = None,
    role: Annotated[str | None, Query(max_length=32)] = None,
    active: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> UserPage:
    users, total = service.list_users(session, email=email, role=role, active=active,
                                      limit=limit, offset=offset)
    return UserPage(items=[UserOut.of(u) for u in users], total=total, limit=limit, offset=offset)


@router.get("/{user_id}", response_model=UserOut, summary="One user")
def get_user(user_id: UserId, principal: Admin, session: SessionDep) -> UserOut:
    return UserOut.of(service.get_user(session, user_id))


@router.put("/{user_id}/roles", response_model=UserOut, summary="Replace a user's roles")
def set_roles(user_id: UserId, body: RolesIn, principal: Admin, session: SessionDep) -> UserOut:
    return UserOut.of(service.set_roles(session, principal.user_id, user_id, body.roles))


@router.post("/{user_id}/disable", response_model=UserOut,
             summary="Disable an account and end all its sessions")
def disable_user(user_id: UserId, principal: Admin, session: SessionDep) -> UserOut:
    return UserOut.of(service.disable_user(session, principal.user_id, user_id))


@router.post("/{user_id}/enable", response_model=UserOut, summary="Re-enable an account")
def enable_user(user_id: UserId, principal: Admin, session: SessionDep) -> UserOut:
    return UserOut.of(service.enable_user(session, principal.user_id, user_id))
