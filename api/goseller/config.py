"""GoSeller settings (env prefix GOSELLER_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class GoSellerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GOSELLER_", env_file=".env", extra="ignore")

    # Platform fee in basis points of the order subtotal (1000 = 10 %), fixed at placement.
    platform_fee_bps: int = Field(1000, ge=0, le=10_000)
    # Days after delivery during which the buyer may return; payouts wait for it to end.
    return_window_days: int = Field(14, ge=0, le=365)


@lru_cache
def goseller_settings() -> GoSellerSettings:
    return GoSellerSettings()
