"""Fraud rules scored at write time. Each rule adds points; the total decides allow, review
(hold for support) or block. Every decision is recorded in fraud_decisions."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.trusty.models import FraudDecision


class FraudSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRUSTY_FRAUD_", env_file=".env", extra="ignore")

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

    def add(self, rule: str, points: int, detail: str) -> None:
        self.score += points
        self.reasons.append({"rule": rule, "points": points, "detail": detail})

    def decision(self) -> str:
        cfg = fraud_settings()
        if self.score >= cfg.block_score:
            return "block"
        return "review" if self.score >= cfg.review_score else "allow"


def assess(session: Session, *, user_id: int, counterparty_id: int | None, amount: int,
           client_ip: str | None, device_id: str | None, now: datetime | None = None) -> Assessment:
    cfg = fraud_settings()
    now = now or datetime.now(UTC)
    since = now - timedelta(minutes=cfg.window_minutes)
    result = Assessment()
    D = FraudDecision

    def count(*where) -> int:
        return session.scalar(select(func.count()).select_from(D).where(*where)) or 0

    recent = count(D.user_id == user_id, D.created_at >= since)
    if recent >= cfg.max_user_attempts:
        result.add("velocity_user", 40, f"{recent} attempts in {cfg.window_minutes} min")
    for column, value, name in ((D.client_ip, client_ip, "ip"), (D.device_id, device_id, "device")):
        if value:
            n = count(column == value, D.created_at >= since)
            if n >= cfg.max_source_attempts:
                result.add(f"velocity_{name}", 40, f"{n} attempts from this {name} in "
                           f"{cfg.window_minutes} min")
    posted = select(D.amount).where(D.user_id == user_id, D.outcome == "posted") \
        .order_by(D.id.desc()).limit(50).subquery()
    n_hist, avg = session.execute(select(func.count(), func.avg(posted.c.amount))).one()
    if n_hist >= 3 and amount > cfg.history_multiplier * int(avg):
        result.add("amount_above_history", 35, f"{amount} is over {cfg.history_multiplier}x the "
                   f"average of {n_hist} past transfers")
    elif n_hist < 3 and amount >= cfg.first_large_amount:
        result.add("amount_above_history", 35, "large amount with little history")
    if counterparty_id is not None and amount >= cfg.new_counterparty_large and not count(
            D.user_id == user_id, D.counterparty_id == counterparty_id, D.outcome == "posted"):
        result.add("new_counterparty_large", 30, "large amount to a new counterparty")
    failures = count(D.user_id == user_id, D.created_at >= now - timedelta(hours=1),
                     D.outcome.in_(("refused", "failed")))
    if failures >= cfg.max_failures_per_hour:
        result.add("failed_attempts", 50, f"{failures} failed attempts in the last hour")
    return result


def record(session: Session, *, user_id: int, action: str, counterparty_id: int | None,
           amount: int, currency: str, client_ip: str | None, device_id: str | None,
           assessment: Assessment) -> FraudDecision:
    row = FraudDecision(user_id=user_id, action=action, counterparty_id=counterparty_id,
                        amount=amount, currency=currency, client_ip=client_ip, device_id=device_id,
                        score=assessment.score, decision=assessment.decision(),
                        reasons=assessment.reasons, outcome="pending")
    session.add(row)
    session.flush()
    return row
