"""Affiliate settings (env prefix AFFILIATE_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class AffiliateSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AFFILIATE_", env_file=".env", extra="ignore")

    # A referral counts for orders placed within this many days of the first touch.
    attribution_window_days: int = Field(30, ge=1, le=365)
    # A touch within this many hours of the account's creation counts as a sign-up referral.
    signup_grace_hours: int = Field(24, ge=0, le=24 * 30)
    link_base_url: str = "http://127.0.0.1:8000/r/"


@lru_cache
def affiliate_settings() -> AffiliateSettings:
    return AffiliateSettings()
