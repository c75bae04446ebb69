"""PAYMENTS_* settings."""

from __future__ import annotations

from functools import lru_cache

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.settings import refuse_in_production, weak_secret

# Public development default: production refuses to start on it (api/production.py).
DEV_WEBHOOK_SECRET = "whsec-dev-only-NOT-FOR-PRODUCTION"


class PaymentsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PAYMENTS_", env_file=".env", extra="ignore")

    # Shared with the provider: signs webhooks (HMAC-SHA256) and card fingerprints.
    webhook_secret: SecretStr = SecretStr(DEV_WEBHOOK_SECRET)
    webhook_tolerance_seconds: int = 300
    fee_bps: int = 290  # 2.90 %
    fee_fixed: int = 30  # minor units per captured payment
    processing_timeout_seconds: int = 600  # older processing payments are reconciled

    @model_validator(mode="after")
    def _refuse_dev_secret(self) -> "PaymentsSettings":
        # "production" as the core settings read it (environment, then .env), not os.environ:
        # EHB_ENV=production in .env alone left the public secret in force.
        refuse_in_production(weak_secret("PAYMENTS_WEBHOOK_SECRET",
                                         self.webhook_secret.get_secret_value(),
                                         DEV_WEBHOOK_SECRET))
        return self


@lru_cache
def get_payments_settings() -> PaymentsSettings:
    return PaymentsSettings()
