"""Validation settings (env prefix VALIDATION_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class ValidationSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VALIDATION_", env_file=".env", extra="ignore")

    # Region assumed for phone numbers written without a +country prefix (ISO 3166 alpha-2);
    # empty means such numbers are refused.
    default_phone_region: str = "PK"
    max_minor_units: int = 10**15


@lru_cache
def get_validation_settings() -> ValidationSettings:
    return ValidationSettings()
