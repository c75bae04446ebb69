"""Settings of the Dash app (env prefix DASH_; the warehouse folder follows the data side's
EHB_WAREHOUSE_DIR so both read the same published snapshot)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.settings import get_settings


class DashSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DASH_", env_file=".env", extra="ignore")

    # Same resolution as pipelines/snapshot.py: EHB_WAREHOUSE_DIR, else $EHB_DATA_DIR/warehouse.
    warehouse_dir: Path = Field(
        default_factory=lambda: Path(os.environ.get("EHB_DATA_DIR", "data")) / "warehouse",
        validation_alias=AliasChoices("EHB_WAREHOUSE_DIR", "DASH_WAREHOUSE_DIR"),
    )
    snapshot_name: str = "snapshot.duckdb"
    # The API the dashboard signs in through and reads /health and /metrics from.
    api_url: str | None = None
    # Signs the session cookie; a random per-process key when unset (sessions end on restart).
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    session_hours: int = 12
    # Send the session cookie over HTTPS only (always in production).
    secure_cookies: bool = False
    # How often a session is re-checked with the auth service (disabled accounts and role
    # changes take effect within this many seconds).
    revalidate_seconds: int = 300
    refresh_ms: int = 5000
    host: str = "127.0.0.1"

    @property
    def snapshot_path(self) -> Path:
        return self.warehouse_dir / self.snapshot_name

    @property
    def resolved_api_url(self) -> str:
        if self.api_url:
            return self.api_url.rstrip("/")
        s = get_settings()
        return f"http://{s.api_host}:{s.api_port}"


@lru_cache
def get_dash_settings() -> DashSettings:
    return DashSettings()
