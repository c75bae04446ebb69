"""Report definitions: a SELECT over the snapshot's marts with named bound parameters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, String, Text, UniqueConstraint, func
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


class ReportSubscription(TimestampMixin, Base):
    """A user's standing order for one report as a file, on a cadence, with parameters."""

    __tablename__ = "report_subscriptions"
    __table_args__ = (UniqueConstraint("definition_id", "user_id", "format", "cadence",
                                       name="uq_report_subscriptions_one_per_cadence"),)

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    definition_id: Mapped[int] = mapped_column(
        ForeignKey("report_definitions.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    format: Mapped[str] = mapped_column(String(8))  # csv | xlsx | parquet | pdf
    cadence: Mapped[str] = mapped_column(String(8))  # daily | weekly | monthly
    parameters: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    active: Mapped[bool] = mapped_column(default=True)
    # Start of the last period exported successfully: a re-run in the same period skips it.
    last_exported_at: Mapped[datetime | None]


class ReportExportRun(Base):
    """Append-only: one row per scheduled export attempt (succeeded or failed)."""

    __tablename__ = "report_export_runs"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    subscription_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_subscriptions.id", ondelete="SET NULL"), index=True)
    definition_id: Mapped[int | None] = mapped_column(
        ForeignKey("report_definitions.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"),
                                                index=True)
    cadence: Mapped[str] = mapped_column(String(8))
    format: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16))  # succeeded | failed
    file_path: Mapped[str | None] = mapped_column(Text)
    rows: Mapped[int | None] = mapped_column(BigInteger)
    bytes: Mapped[int | None] = mapped_column(BigInteger)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
