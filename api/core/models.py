"""Platform-level tables that belong to no single service."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base


class DeletedRow(Base):
    """Filled by the `ehb_record_delete` trigger (migrations.helpers.track_table): the primary
    keys of deleted rows, so incremental ingestion can propagate deletes to the warehouse."""

    __tablename__ = "ops_deleted_rows"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    table_name: Mapped[str] = mapped_column(String(128), index=True)
    row_pk: Mapped[Any] = mapped_column(JSONB)
    deleted_at: Mapped[datetime] = mapped_column(server_default=func.now(), index=True)
