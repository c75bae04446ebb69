"""Job-processing settings (env prefix JOBS_)."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Queue -> jobs one `ehb worker` process runs at once on that queue. Delivery talks to slow
# remote servers, so it gets several; money-moving queues run one job at a time.
DEFAULT_CONCURRENCY = {
    "notifications": 4,
    "complaints": 1,
    "payouts": 1,
    "settlements": 1,
    "payments": 1,
    "default": 2,
}


class JobsSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="JOBS_", env_file=".env", extra="ignore")

    # JSON in the environment, e.g. JOBS_QUEUE_CONCURRENCY='{"notifications": 8}'; merged over
    # the defaults.
    queue_concurrency: dict[str, int] = Field(default_factory=dict)
    # Retries of failing tasks: wait = exponential_wait ** (attempt + 1) seconds.
    retry_max_attempts: int = 5
    retry_exponential_wait: int = 4
    fetch_polling_interval: float = 5.0
    # Successful jobs older than this are deleted by the cleanup cron (failed ones are kept).
    keep_succeeded_hours: int = 72

    def concurrency(self) -> dict[str, int]:
        merged = {**DEFAULT_CONCURRENCY, **self.queue_concurrency}
        return {q: n for q, n in merged.items() if n > 0}


@lru_cache
def get_jobs_settings() -> JobsSettings:
    return JobsSettings()
