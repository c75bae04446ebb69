"""Franchise request and response bodies."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from api.goseller.address import normalize_country, normalize_postal_code
from api.validation import Id, clean_text

Name = clean_text(max_length=120)
Place = clean_text(max_length=120)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class FranchiseIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"owner_user_id": 1, "name": "Berlin Mitte", "share_basis": "gross", "share_bps": 1000}]})

    owner_user_id: Id
    name: Name
    share_basis: Literal["gross", "net"]
    share_bps: int = Field(strict=True, ge=0, le=10_000)


class FranchisePatch(Strict):
    status: Literal["active", "suspended"] | None = None
    share_basis: Literal["gross", "net"] | None = None
    share_bps: int | None = Field(None, ge=0, le=10_000)


class FranchiseOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    owner_user_id: int
    name: str
    status: str
    share_basis: str
    share_bps: int
    created_at: datetime


class TerritoryIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Berlin 101", "country": "DE", "city": "Berlin", "postal_codes": ["10117"],
         "exclusive": False}]})

    name: Name
    country: Annotated[str, AfterValidator(normalize_country)]
    region: Place | None = None
    city: Place | None = None
    postal_codes: list[Annotated[str, AfterValidator(normalize_postal_code)]] = Field(
        min_length=1, max_length=5000)
    exclusive: bool = True


class TerritoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    franchise_id: int
    name: str
    country: str
    region: str | None
    city: str | None
    exclusive: bool
    postal_codes: list[str] = []


def _calendar_month(value: str) -> str:
    # The pattern lets "0000-01" through; the calendar starts in year 1.
    if value.startswith("0000"):
        raise PydanticCustomError("period_invalid", "no such month: years start at 0001")
    return value


class SettleIn(Strict):
    period: Annotated[str, StringConstraints(pattern=r"^\d{4}-(0[1-9]|1[0-2])$"),
                      AfterValidator(_calendar_month)] = Field(examples=["2026-10"])

    def period_start(self) -> date:
        year, month = self.period.split("-")
        return date(int(year), int(month), 1)


class LineOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    order_id: int
    gross_minor: int
    net_minor: int
    share_minor: int


class StatementOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    franchise_id: int
    period_start: date
    currency: str
    share_basis: str
    share_bps: int
    order_count: int
    gross_minor: int
    net_minor: int
    share_minor: int
    status: str
    ledger_ref: str | None
    posted_at: datetime | None
    lines: list[LineOut] = []
