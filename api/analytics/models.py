"""Saved custom dashboards."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

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
