"""/api/v1/notifications: the signed-in user's own messages."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict
from sqlalchemy import select

from api.auth.dependencies import CurrentUser
from api.deps import SessionDep
from api.notifications.models import OutboxMessage

router = APIRouter(prefix="/notifications", tags=["notifications"])


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    channel: str
    category: str
    subject: str
    status: str
    created_at: datetime
    sent_at: datetime | None


@router.get("/messages", response_model=list[MessageOut], summary="My notifications, newest first")
def my_messages(principal: CurrentUser, session: SessionDep,
                limit: int = Query(50, ge=1, le=200)) -> list[OutboxMessage]:
    return list(session.scalars(
        select(OutboxMessage).where(OutboxMessage.user_id == principal.user_id)
        .order_by(OutboxMessage.id.desc()).limit(limit)
    ))
