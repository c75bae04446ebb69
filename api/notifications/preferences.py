"""Per-user preferences per channel and category. No row means enabled; a specific category
row overrides the channel-wide "*" row; security-critical categories are always allowed."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from api.core.errors import Unprocessable
from api.notifications.categories import ALL_CATEGORIES, is_mandatory
from api.notifications.models import NotificationPreference

CHANNELS = ("email", "sms", "push")


def is_allowed(session: Session, user_id: int | None, channel: str, category: str) -> bool:
    if user_id is None or is_mandatory(category):
        return True
    rows = dict(session.execute(
        select(NotificationPreference.category, NotificationPreference.enabled).where(
            NotificationPreference.user_id == user_id, NotificationPreference.channel == channel,
            NotificationPreference.category.in_([category, ALL_CATEGORIES]))).all())
    if category in rows:
        return rows[category]
    return rows.get(ALL_CATEGORIES, True)


def list_preferences(session: Session, user_id: int) -> list[NotificationPreference]:
    return list(session.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        .order_by(NotificationPreference.channel, NotificationPreference.category)))


def set_preferences(session: Session, user_id: int,
                    changes: list[tuple[str, str, bool]]) -> list[NotificationPreference]:
    """Upsert (channel, category, enabled) rows, all or none; commits."""
    for channel, category, enabled in changes:
        if channel not in CHANNELS:
            raise Unprocessable(f"channel must be one of {', '.join(CHANNELS)}",
                                code="unknown_channel")
        if not enabled and is_mandatory(category):
            raise Unprocessable(f"'{category}' messages are security-critical and cannot be "
                                "turned off", code="mandatory_category",
                                details={"channel": channel, "category": category})
    for channel, category, enabled in changes:
        session.execute(insert(NotificationPreference).values(
            user_id=user_id, channel=channel, category=category, enabled=enabled,
        ).on_conflict_do_update(
            index_elements=["user_id", "channel", "category"],
            set_={"enabled": enabled}))
    session.commit()
    return list_preferences(session, user_id)
