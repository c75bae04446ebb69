"""Fraud rules scored at write time. Each rule adds points; the total decides allow, review
(hold for support) or block. Every decision is recorded in fraud_decisions."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import delete, text
from sqlalchemy.orm import Session

from api.trusty.models import FraudDecision, FraudVelocity


class FraudSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRUSTY_FRAUD_", env_file=".env", extra="ignore",
                                      frozen=True)

    window_minutes: int = 10
    max_user_attempts: int = 10  # per window
    max_source_attempts: int = 20  # per IP or device per window, all users
    history_multiplier: int = 5  # amount above N x the user's average
    first_large_amount: int = 100_000  # with no history: minor units
    new_counterparty_large: int = 50_000
    max_failures_per_hour: int = 3
    review_score: int = 40
    block_score: int = 80


@lru_cache
def fraud_settings() -> FraudSettings:
    return FraudSettings()


@dataclass
class Assessment:
    score: int = 0
    reasons: list[dict] = field(default_factory=list)

    def decision(self) -> str:
        cfg = fraud_settings()
        if self.score >= cfg.block_score:
            return "block"
        return "review" if self.score >= cfg.review_score else "allow"


def rules_json() -> str:
    """The thresholds as the SQL rules take them (`p_rules`), serialized once per process."""
    return _rules_json(fraud_settings())


@lru_cache
def _rules_json(cfg: FraudSettings) -> str:
    return json.dumps(cfg.model_dump(), sort_keys=True)


def assess(session: Session, *, user_id: int, counterparty_id: int | None, amount: int,
           client_ip: str | None, device_id: str | None,
           now: datetime | None = None) -> Assessment:
    """Score an attempt with the SQL rules (`fraud_assess`, the same the wallet transfer core
    runs) at `now` (default: the transaction's time). Velocity counts decisions already
    recorded, so record() the attempt after this, with the same `now`."""
    found = session.execute(
        text("SELECT fraud_assess(:user_id, :counterparty, :amount, :ip, :device,"
             " CAST(:rules AS jsonb), CAST(:now AS timestamptz))"),
        {"user_id": user_id, "counterparty": counterparty_id, "amount": amount, "ip": client_ip,
         "device": device_id, "rules": rules_json(), "now": now}).scalar_one()
    return Assessment(score=found["score"], reasons=found["reasons"])


def record(session: Session, *, user_id: int, action: str, counterparty_id: int | None,
           amount: int, currency: str, client_ip: str | None, device_id: str | None,
           assessment: Assessment, now: datetime | None = None) -> FraudDecision:
    row = FraudDecision(user_id=user_id, action=action, counterparty_id=counterparty_id,
                        amount=amount, currency=currency, client_ip=client_ip, device_id=device_id,
                        score=assessment.score, decision=assessment.decision(),
                        reasons=assessment.reasons, outcome="pending")
    if now is not None:
        row.created_at = now
    session.add(row)
    session.flush()
    return row


def prune_velocity(session: Session, now: datetime) -> int:
    """Drop per-minute velocity counters no rule can read any more (older than the window,
    with an hour's margin for a window raised at run time); returns rows deleted."""
    horizon = now - timedelta(minutes=fraud_settings().window_minutes + 60)
    result = session.execute(delete(FraudVelocity).where(FraudVelocity.minute < horizon))
    return result.rowcount
