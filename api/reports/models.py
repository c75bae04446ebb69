"""Report definitions: a SELECT over the snapshot's marts with named bound parameters."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, TimestampMixin


class ReportDefinition(TimestampMixin, Base):
    __tablename__ = "report_definitions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                 index=True)
    sql: Mapped[str] = mapped_column(Text)
    # {name: {"type": "date|int|float|text", "required": bool}}
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # {name: value}: used when a run does not give the parameter
    default_filters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    # {"kind": "bar|line", "x": column, "y": [columns]} drawn in the PDF, or null
    chart: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
