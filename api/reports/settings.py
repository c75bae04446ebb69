"""Scheduled report exports (env prefix REPORTS_EXPORT_)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict


class ExportSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REPORTS_EXPORT_", env_file=".env",
                                      extra="ignore")

    dest_dir: Path | None = None  # default: $EHB_DATA_DIR/exports, i.e. data/exports
    keep_days: int = 30  # files older than this are deleted after each scheduled run...
    keep_latest: int = 1  # ...except each report's newest ones
    # Where subscribers' download links point (the API's public address).
    public_base_url: str = "http://127.0.0.1:8000"

    def export_dir(self) -> Path:
        default = Path(os.environ.get("EHB_DATA_DIR", "data")) / "exports"
        return (self.dest_dir or default).resolve()


@lru_cache
def get_export_settings() -> ExportSettings:
    return ExportSettings()
