"""Affiliate request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.validation import Currency, MinorUnits, clean_text

Reason = clean_text(max_length=500)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AffiliateIn(Strict):
    website: Annotated[str, StringConstraints(strip_whitespace=True, max_length=300,
                                              pattern=r"^https?://\S+$")] | None = None


class AffiliateStatusIn(Strict):
    status: Literal["approved", "rejected", "suspended"]
    reason: Reason | None = None


class AffiliateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    code: str
    link: str = ""
    website: str | None
    status: str
    status_reason: str | None
    approved_at: datetime | None
    created_at: datetime


class TouchIn(Strict):
    code: Annotated[str, StringConstraints(strip_whitespace=True, min_length=4, max_length=32,
                                           pattern=r"^[A-Za-z0-9]+$")]


class ReferralOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    affiliate_id: int
    referred_user_id: int
    kind: str
    first_touch_at: datetime
    expires_at: datetime


class RuleIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"category": "home", "currency": "EUR", "min_monthly_volume_minor": 0, "rate_bps": 500}]})

    category: Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True,
                                               min_length=1, max_length=64)] = "*"
    currency: Currency
    min_monthly_volume_minor: MinorUnits = 0
    rate_bps: int = Field(strict=True, ge=0, le=10_000)


class RuleActiveIn(Strict):
    active: bool


class RuleOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    category: str
    currency: str
    min_monthly_volume_minor: int
    rate_bps: int
    active: bool


class CommissionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    affiliate_id: int
    order_id: int
    period: date
    currency: str
    order_amount_minor: int
    commission_minor: int
    breakdown: list[dict[str, Any]]
    status: str
    approved_at: datetime | None
    reversed_at: datetime | None
    paid_at: datetime | None


class ConversionOut(BaseModel):
    order_id: int
    referral_id: int
    order_status: str
    order_amount_minor: int
    currency: str
    placed_at: datetime | None
    paid_at: datetime | None
    commission_minor: int
    commission_status: str


class SummaryOut(BaseModel):
    referrals: int
    commissions: list[dict[str, Any]]


class RunOut(BaseModel):
    approved: int = 0
    paid: int = 0
    awaiting_ledger: int = 0
