"""Complaints settings (env prefix COMPLAINTS_): SLA targets per priority, in minutes."""

from __future__ import annotations

from functools import lru_cache

from pydantic import BaseModel, Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class SlaTarget(BaseModel):
    first_response_minutes: int = Field(gt=0)
    resolution_minutes: int = Field(gt=0)


DEFAULT_SLA = {
    "urgent": SlaTarget(first_response_minutes=60, resolution_minutes=8 * 60),
    "high": SlaTarget(first_response_minutes=4 * 60, resolution_minutes=24 * 60),
    "normal": SlaTarget(first_response_minutes=8 * 60, resolution_minutes=72 * 60),
    "low": SlaTarget(first_response_minutes=24 * 60, resolution_minutes=7 * 24 * 60),
}


class ComplaintsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="COMPLAINTS_", env_file=".env", extra="ignore")

    # JSON, e.g. COMPLAINTS_SLA='{"urgent": {"first_response_minutes": 30, ...}}'
    sla: dict[str, SlaTarget] = Field(default_factory=lambda: dict(DEFAULT_SLA))
    # How often the SLA sweep job runs (cron).
    sla_sweep_cron: str = "*/5 * * * *"
    # Tickets per sweep transaction (locked with SKIP LOCKED, so sweeps never collide).
    sla_sweep_batch: int = 500


@lru_cache
def get_complaints_settings() -> ComplaintsSettings:
    return ComplaintsSettings()
