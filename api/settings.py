"""Platform settings from the environment and `.env` (pydantic-settings).

Service domains that need settings of their own keep a settings class in their own package
with an env prefix, so this file stays the shared core.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Development default; production refuses to start on it (see _refuse_weak_secret and
# api/production.py, which lists every secret with a development default).
DEFAULT_JWT_SECRET = "dev-only-insecure-secret-change-me-0123456789"
MIN_SECRET_LENGTH = 32


class EnvironmentSettings(BaseSettings):
    """EHB_ENV alone, read like every setting (environment first, then `.env`). The per-domain
    settings decide "production" through current_env(), never through os.environ."""

    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    ehb_env: Literal["development", "test", "production"] = "development"


def current_env() -> str:
    return EnvironmentSettings().ehb_env


def weak_secret(variable: str, value: str | None, *defaults: str) -> str | None:
    """What is wrong with a secret for production (unset, a development default, too short),
    naming the variable to set; None when it will do."""
    if value is None or value in defaults or len(value) < MIN_SECRET_LENGTH:
        return (f"{variable} must be set to a random value of at least {MIN_SECRET_LENGTH} "
                "characters")
    return None


def refuse_in_production(problem: str | None, env: str | None = None) -> None:
    """For the validators of settings classes: a development default in production is an
    error naming the variable to set."""
    if problem and (env or current_env()) == "production":
        raise ValueError(f"{problem} when EHB_ENV=production")


class Settings(EnvironmentSettings):
    database_url: str | None = Field(
        default=None, description="PostgreSQL URL; unset means `ehb up` starts an embedded server"
    )
    redis_url: str | None = Field(default=None, description="rate-limit storage; memory when unset")
    data_dir: Path = Path("data")

    jwt_secret: SecretStr = SecretStr(DEFAULT_JWT_SECRET)
    jwt_issuer: str = "ehb-5"
    jwt_audience: str = "ehb-5-api"
    access_token_ttl_seconds: int = 15 * 60
    refresh_token_ttl_days: int = 30

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    api_workers: int = 1
    dash_port: int = 8050
    # The Dagster UI has no sign-in: it binds to this machine unless told otherwise, never
    # to API_HOST (a public gateway must not expose it).
    dagster_host: str = "127.0.0.1"
    dagster_port: int = 3000

    cors_origins: list[str] = Field(default_factory=list)
    # `limits` rate strings; the client limit guards anonymous endpoints too.
    rate_limit_per_client: str = "600/minute"
    rate_limit_per_user: str = "1200/minute"
    max_body_bytes: int = 1_048_576
    db_pool_size: int = 10
    db_max_overflow: int = 20
    public_base_url: str = "http://127.0.0.1:8000"

    @model_validator(mode="after")
    def _refuse_weak_secret(self) -> "Settings":
        refuse_in_production(weak_secret("JWT_SECRET", self.jwt_secret.get_secret_value(),
                                         DEFAULT_JWT_SECRET), self.ehb_env)
        return self

    @property
    def sqlalchemy_url(self) -> str:
        if not self.database_url:
            raise RuntimeError("DATABASE_URL is not set (run through `ehb up` to get an embedded server)")
        return to_sqlalchemy_url(self.database_url)


def to_sqlalchemy_url(url: str) -> str:
    """Any postgres URL → the psycopg 3 dialect SQLAlchemy should use."""
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    raise ValueError(f"DATABASE_URL must be a PostgreSQL URL, got {url.split(':', 1)[0]}://...")


@lru_cache
def get_settings() -> Settings:
    return Settings()
