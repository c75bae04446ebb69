"""Settings of the Dash app (env prefix DASH_; the warehouse folder follows the data side's
EHB_WAREHOUSE_DIR so both read the same published snapshot)."""

from __future__ import annotations

import os
import secrets
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.settings import get_settings, refuse_in_production, weak_secret


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
    # Signs the session cookie; unset: a random per-process key (sessions end on restart),
    # which production refuses (api/production.py).
    secret_key: SecretStr | None = None
    session_hours: int = 12
    # Where sessions live (the cookie holds only an id): PostgreSQL (DATABASE_URL), which
    # every installation has, or Redis (REDIS_URL) when configured.
    session_store: Literal["postgres", "redis"] = "postgres"
    # Send the session cookie over HTTPS only (always in production).
    secure_cookies: bool = False
    # How often a session is re-checked with the auth service (disabled accounts and role
    # changes take effect within this many seconds).
    revalidate_seconds: int = 300
    refresh_ms: int = 5000
    host: str = "127.0.0.1"

    @model_validator(mode="after")
    def _refuse_unset_secret_key(self) -> "DashSettings":
        refuse_in_production(weak_secret(
            "DASH_SECRET_KEY", self.secret_key.get_secret_value() if self.secret_key else None))
        return self

    @cached_property
    def session_secret(self) -> str:
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return secrets.token_urlsafe(32)

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
