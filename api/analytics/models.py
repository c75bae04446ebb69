"""Saved custom dashboards, and the Dash app's server-side sessions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.core.fieldcrypt import EncryptedString
from api.db import Base, TimestampMixin


class SavedDashboard(TimestampMixin, Base):
    __tablename__ = "analytics_dashboards"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    # chart keys from dashboards.charts.CHARTS, in display order
    charts: Mapped[list[str]] = mapped_column(JSONB, default=list)
    # global filters as in the dashboard URL: start, end, currency, territory, seller
    filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)


class WebSession(Base):
    """A signed-in (or signing-in) browser of the Dash app. The browser holds only an opaque
    random id; this row is keyed by its SHA-256, so the table does not hand out usable
    cookies, and the data (the viewer's API tokens among it) is sealed with the field keys.
    Not ingested into the warehouse."""

    __tablename__ = "analytics_web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"),
                                                index=True)
    data: Mapped[str] = mapped_column(EncryptedString("analytics_web_sessions.data"))
    expires_at: Mapped[datetime] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
