"""AI marketplace tables: provider endpoints (with their health), services (listings) and their
immutable versions, buyers' API keys with their quota counters, per-buyer wallet holds, the
call log (usage, metering, the ledger transaction that billed it) and ratings.

Counters that refuse (a key's rate window and budget, a buyer's reserved money) live on the
rows the reservation locks, so the same numbers that are shown are the ones that refuse
(see api/ai/sql.py)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (ARRAY, BigInteger, CheckConstraint, Float, ForeignKey, Index, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB, REAL
from sqlalchemy.orm import Mapped, mapped_column

from api.db import Base, TimestampMixin

TASKS = ("classification", "embedding", "text_scoring", "regression", "generation", "other")
SERVICE_STATUSES = ("active", "deprecated")
BUDGET_PERIODS = ("day", "week", "month")
CALL_STATUSES = ("reserved", "succeeded", "failed")


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class AiEndpoint(TimestampMixin, Base):
    """Where a provider serves models; checked (active health checks and failed calls) and
    taken out of rotation after repeated failures, back in after a passing check or call."""

    __tablename__ = "ai_endpoints"
    __table_args__ = (UniqueConstraint("provider_user_id", "name"),
                      CheckConstraint("consecutive_failures >= 0", name="failures"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"),
                                                  index=True)
    name: Mapped[str] = mapped_column(String(80))
    base_url: Mapped[str] = mapped_column(String(300))
    health_path: Mapped[str] = mapped_column(String(100), default="/health")
    in_rotation: Mapped[bool] = mapped_column(default=True, server_default="true")
    consecutive_failures: Mapped[int] = mapped_column(default=0, server_default="0")
    out_until: Mapped[datetime | None]  # ejected: no call is tried before this (then one trial)
    last_check_at: Mapped[datetime | None]
    last_ok_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(String(300))
    last_latency_ms: Mapped[float | None] = mapped_column(Float)


class AiService(TimestampMixin, Base):
    """A listing: what the model does, its card (description, license, tags) and its
    embedding for semantic search. Deprecation is a date after which calls are refused."""

    __tablename__ = "ai_services"
    __table_args__ = (CheckConstraint(_in("task", TASKS), name="task"),
                      CheckConstraint(_in("status", SERVICE_STATUSES), name="status"),
                      CheckConstraint("currency ~ '^[A-Z]{3}$'", name="currency_iso"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    provider_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"),
                                                  index=True)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    task: Mapped[str] = mapped_column(String(32), index=True)
    summary: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    license: Mapped[str] = mapped_column(String(64))
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(32)), default=list)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[str] = mapped_column(String(16), default="active")
    deprecated_at: Mapped[datetime | None]
    sunset_at: Mapped[datetime | None]  # calls are refused from this moment on
    embedding: Mapped[list[float] | None] = mapped_column(ARRAY(REAL))


class AiServiceVersion(Base):
    """One immutable version: endpoint, schemas, prices, limits and model card. A trigger
    (migration 0900_ai) refuses any change but its sunset date, and every delete."""

    __tablename__ = "ai_service_versions"
    __table_args__ = (
        UniqueConstraint("service_id", "version"),
        CheckConstraint("price_per_call_minor >= 0 AND price_per_1k_tokens_minor >= 0",
                        name="prices"),
        CheckConstraint("timeout_ms BETWEEN 10 AND 120000", name="timeout"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("ai_services.id", ondelete="RESTRICT"),
                                            index=True)
    version: Mapped[str] = mapped_column(String(32))
    endpoint_id: Mapped[int] = mapped_column(ForeignKey("ai_endpoints.id", ondelete="RESTRICT"))
    path: Mapped[str] = mapped_column(String(200))
    input_schema: Mapped[dict[str, Any]] = mapped_column(JSONB)
    output_schema: Mapped[dict[str, Any]] = mapped_column(JSONB)
    price_per_call_minor: Mapped[int] = mapped_column(default=0)
    price_per_1k_tokens_minor: Mapped[int] = mapped_column(default=0)
    tokenizer: Mapped[str | None] = mapped_column(String(32))  # None: the model counts no tokens
    max_input_tokens: Mapped[int | None]
    timeout_ms: Mapped[int] = mapped_column(default=5000)
    model_card: Mapped[dict[str, Any]] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(server_default=text("now()"))
    sunset_at: Mapped[datetime | None]


class AiApiKey(TimestampMixin, Base):
    """A buyer's key: shown once, stored as the SHA-256 of its secret (256 random bits, so a
    fast hash is enough), scoped to services, revocable, with an expiry, quotas and budget."""

    __tablename__ = "ai_api_keys"
    __table_args__ = (
        CheckConstraint(_in("budget_period", BUDGET_PERIODS) + " OR budget_period IS NULL",
                        name="budget_period"),
        CheckConstraint("(budget_minor IS NULL) = (budget_period IS NULL)", name="budget_pair"),
        CheckConstraint("budget_spent >= 0 AND budget_reserved >= 0", name="budget_counters"),
        CheckConstraint("window_requests >= 0 AND window_tokens >= 0", name="window_counters"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    all_services: Mapped[bool] = mapped_column(default=False)
    service_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    currency: Mapped[str] = mapped_column(String(3))
    rpm: Mapped[int | None]  # requests per minute
    tpm: Mapped[int | None]  # tokens per minute
    budget_minor: Mapped[int | None]
    budget_period: Mapped[str | None] = mapped_column(String(8))
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    # the counters the reservation checks and moves (row-locked)
    window_start: Mapped[datetime | None]
    window_requests: Mapped[int] = mapped_column(default=0, server_default="0")
    window_tokens: Mapped[int] = mapped_column(default=0, server_default="0")
    budget_period_start: Mapped[datetime | None]
    budget_spent: Mapped[int] = mapped_column(default=0, server_default="0")
    budget_reserved: Mapped[int] = mapped_column(default=0, server_default="0")


class AiWalletHold(Base):
    """Money of a buyer's wallet promised to calls in flight: a reservation needs the wallet
    balance minus this to cover it; settlement or release takes it back off."""

    __tablename__ = "ai_wallet_holds"
    __table_args__ = (CheckConstraint("reserved >= 0", name="reserved"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"),
                                         primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    reserved: Mapped[int] = mapped_column(default=0, server_default="0")


class AiCall(TimestampMixin, Base):
    """One invoke: reserved before the provider is called, then succeeded (metered and billed
    by exactly one ledger transaction) or failed (released, nothing billed)."""

    __tablename__ = "ai_calls"
    __table_args__ = (
        CheckConstraint(_in("status", CALL_STATUSES), name="status"),
        CheckConstraint("charge_minor = provider_minor + fee_minor", name="split"),
        CheckConstraint("charge_minor >= 0 AND provider_minor >= 0 AND fee_minor >= 0",
                        name="amounts"),
        CheckConstraint("charge_minor <= reserved_minor", name="within_reservation"),
        CheckConstraint("status = 'succeeded' OR charge_minor = 0", name="only_success_billed"),
        # one live call per client idempotency key (a failed one may be retried with it)
        Index("uq_ai_calls_key_request", "key_id", "request_key", unique=True,
              postgresql_where=text("status <> 'failed'")),
        Index("ix_ai_calls_service_created", "service_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("ai_api_keys.id", ondelete="RESTRICT"),
                                        index=True)
    buyer_user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"),
                                               index=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("ai_services.id", ondelete="RESTRICT"))
    version_id: Mapped[int | None] = mapped_column(
        ForeignKey("ai_service_versions.id", ondelete="RESTRICT"))
    provider_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    request_key: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default="reserved")
    error_code: Mapped[str | None] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(3))
    reserved_minor: Mapped[int] = mapped_column(default=0)
    charge_minor: Mapped[int] = mapped_column(default=0, server_default="0")
    provider_minor: Mapped[int] = mapped_column(default=0, server_default="0")
    fee_minor: Mapped[int] = mapped_column(default=0, server_default="0")
    tokens: Mapped[int] = mapped_column(default=0, server_default="0")
    latency_ms: Mapped[float | None] = mapped_column(Float)
    provider_latency_ms: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    fallback_used: Mapped[bool] = mapped_column(default=False, server_default="false")
    ledger_transaction_id: Mapped[int | None] = mapped_column(
        ForeignKey("wallet_transactions.id", ondelete="RESTRICT"), unique=True)
    settled_at: Mapped[datetime | None]


class AiRating(TimestampMixin, Base):
    __tablename__ = "ai_ratings"
    __table_args__ = (UniqueConstraint("service_id", "user_id"),
                      CheckConstraint("stars BETWEEN 1 AND 5", name="stars"))

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("ai_services.id", ondelete="RESTRICT"),
                                            index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    stars: Mapped[int]
    comment: Mapped[str] = mapped_column(String(500), default="")
