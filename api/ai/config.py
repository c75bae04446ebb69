"""AI marketplace settings (env prefix AI_)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AiSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AI_", env_file=".env", extra="ignore")

    # The platform's fee in basis points of each call's charge (1000 = 10 %), to `fees`.
    platform_fee_bps: int = Field(1000, ge=0, le=10_000)
    # A provider answering 5xx (or refusing the connection) is retried this many times.
    provider_retries: int = Field(2, ge=0, le=5)
    retry_backoff_seconds: float = Field(0.05, ge=0, le=5)
    # Failures in a row (calls after their retries, or health checks) that take an endpoint
    # out of rotation, and how long it stays out before one trial call or check may bring it
    # back.
    eject_after_failures: int = Field(2, ge=1, le=100)
    eject_seconds: float = Field(15, ge=0, le=3600)
    health_timeout_seconds: float = Field(2.0, gt=0, le=30)
    # Reservations of calls whose gateway died mid-call are released after this long.
    stale_reservation_seconds: int = Field(600, ge=60)
    # The built-in providers `ehb up` starts (separate processes, see api/ai/launcher.py).
    provider_host: str = "127.0.0.1"
    embedding_port: int = 8101
    classifier_port: int = 8102
    # Where the built-in classifier's .onnx files are written (default DATA_DIR/ai/models).
    models_dir: Path | None = None
    # Seconds the gateway trusts its copy of a service's versions (versions are immutable;
    # this bounds how late a new version, a deprecation or a moved endpoint is seen).
    catalog_cache_seconds: float = Field(2.0, ge=0, le=60)


@lru_cache
def ai_settings() -> AiSettings:
    return AiSettings()


def models_dir() -> Path:
    from api.settings import get_settings

    return (ai_settings().models_dir or get_settings().data_dir / "ai" / "models").resolve()
