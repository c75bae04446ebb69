"""Request and response bodies of /api/v1/ai."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, HttpUrl, field_validator

from api.ai.models import BUDGET_PERIODS, TASKS
from api.ai.wordmodel import TOKENIZER
from api.validation import Id, Int64

Slug = Field(pattern=r"^[a-z0-9][a-z0-9-]{1,62}$")
VersionName = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$")
Currency = Field(pattern=r"^[A-Z]{3}$")
MAX_MINOR = 10**12  # a price or budget above 10 billion major units is a typo


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EndpointIn(_In):
    name: str = Field(min_length=1, max_length=80)
    base_url: HttpUrl
    health_path: str = Field("/health", pattern=r"^/[A-Za-z0-9/._-]{0,99}$")


class EndpointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    provider_user_id: int
    name: str
    base_url: str
    health_path: str
    in_rotation: bool
    consecutive_failures: int
    out_until: datetime | None
    last_check_at: datetime | None
    last_ok_at: datetime | None
    last_error: str | None
    last_latency_ms: float | None


class ServiceIn(_In):
    slug: str = Slug
    name: str = Field(min_length=1, max_length=120)
    task: Literal[TASKS]  # type: ignore[valid-type]
    summary: str = Field(min_length=1, max_length=300)
    description: str = Field("", max_length=20_000)
    license: str = Field(min_length=1, max_length=64)
    tags: list[str] = Field(default_factory=list, max_length=20)
    currency: str = Currency

    @field_validator("tags")
    @classmethod
    def _tags(cls, tags: list[str]) -> list[str]:
        clean = sorted({t.strip().lower() for t in tags})
        for t in clean:
            if not 1 <= len(t) <= 32 or not all(c.isalnum() or c in "-_." for c in t):
                raise ValueError(f"tag {t!r}: 1-32 letters, digits, '-', '_' or '.'")
        return clean


class ModelCard(_In):
    description: str = Field("", max_length=20_000)
    license: str | None = Field(None, max_length=64)
    metrics: dict[str, float | Int64 | str] = Field(default_factory=dict, max_length=50)


class VersionIn(_In):
    version: str = VersionName
    endpoint_id: Id
    path: str = Field(pattern=r"^/[A-Za-z0-9/._-]{0,199}$")
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    price_per_call_minor: int = Field(0, ge=0, le=MAX_MINOR)
    price_per_1k_tokens_minor: int = Field(0, ge=0, le=MAX_MINOR)
    tokenizer: Literal[TOKENIZER] | None = None  # type: ignore[valid-type]
    max_input_tokens: int | None = Field(None, ge=1, le=10_000_000)
    timeout_ms: int = Field(5000, ge=10, le=120_000)
    model_card: ModelCard = Field(default_factory=ModelCard)


class VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    version: str
    endpoint_id: int
    path: str
    input_schema: dict[str, Any]
    output_schema: dict[str, Any]
    price_per_call_minor: int
    price_per_1k_tokens_minor: int
    tokenizer: str | None
    max_input_tokens: int | None
    timeout_ms: int
    model_card: dict[str, Any]
    created_at: datetime
    sunset_at: datetime | None


class ServiceOut(BaseModel):
    id: int
    slug: str
    name: str
    task: str
    summary: str
    description: str
    license: str
    tags: list[str]
    currency: str
    status: str
    deprecated_at: datetime | None
    sunset_at: datetime | None
    provider_user_id: int
    versions: list[VersionOut] = Field(default_factory=list)
    rating_avg: float | None = None
    rating_count: int = 0
    calls_30d: int = 0
    healthy: bool | None = None  # every endpoint of its live versions in rotation


class SearchHit(BaseModel):
    service: ServiceOut
    score: float
    relevance: float
    usage_score: float
    rating_score: float


class SearchPage(BaseModel):
    items: list[SearchHit]
    total: int
    mode: Literal["text", "semantic"]


class DeprecateIn(_In):
    sunset_at: datetime

    @field_validator("sunset_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            raise ValueError("sunset_at needs a time zone (e.g. 2027-01-01T00:00:00Z)")
        return value


class KeyIn(_In):
    name: str = Field(min_length=1, max_length=80)
    service_ids: list[Id] = Field(default_factory=list, max_length=100)
    all_services: bool = False
    currency: str = Currency
    rpm: int | None = Field(None, ge=1, le=1_000_000)
    tpm: int | None = Field(None, ge=1, le=10**9)
    budget_minor: int | None = Field(None, ge=0, le=MAX_MINOR)
    budget_period: Literal[BUDGET_PERIODS] | None = None  # type: ignore[valid-type]
    expires_at: datetime | None = None

    @field_validator("expires_at")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        if value is not None and value.tzinfo is None:
            raise ValueError("expires_at needs a time zone (e.g. 2027-01-01T00:00:00Z)")
        return value


class KeyOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    prefix: str
    all_services: bool
    service_ids: list[int]
    currency: str
    rpm: int | None
    tpm: int | None
    budget_minor: int | None
    budget_period: str | None
    budget_spent: int
    budget_reserved: int
    budget_period_start: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None
    created_at: datetime


class KeyCreated(KeyOut):
    key: str = Field(description="the secret key: shown this once, stored only as a hash")


class InvokeIn(_In):
    input: Any
    version: str | None = Field(None, pattern=r"^[0-9A-Za-z][0-9A-Za-z.\-]{0,31}$")
    # Other services or versions ("slug" or "slug@version") the gateway may use, in order,
    # when the requested one fails; each must be in the key's scope and accept the input.
    fallbacks: list[str] = Field(default_factory=list, max_length=3)

    @field_validator("fallbacks")
    @classmethod
    def _targets(cls, targets: list[str]) -> list[str]:
        import re

        for t in targets:
            if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,62}(@[0-9A-Za-z][0-9A-Za-z.\-]{0,31})?", t):
                raise ValueError(f"fallback {t!r} is not 'service-slug' or 'service-slug@version'")
        return targets


class Usage(BaseModel):
    tokens: int
    charge_minor: int
    currency: str
    latency_ms: float
    provider_latency_ms: float
    attempts: int
    fallback_used: bool


class InvokeOut(BaseModel):
    call_id: int
    service: str
    version: str
    output: Any
    usage: Usage


class RatingIn(_In):
    stars: int = Field(ge=1, le=5)
    comment: str = Field("", max_length=500)


class RatingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    service_id: int
    user_id: int
    stars: int
    comment: str
    updated_at: datetime


class UsageRow(BaseModel):
    day: str
    service_id: int
    service: str
    key_id: int | None = None
    calls: int
    succeeded: int
    failed: int
    tokens: int
    charge_minor: int
    provider_minor: int
    fee_minor: int
    currency: str
    avg_latency_ms: float | None
