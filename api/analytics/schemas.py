"""Bodies of the analytics API."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from api.validation import Id
from dashboards.charts import CHARTS


class DashboardFilters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    start: date | None = None
    end: date | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    territory: Id | None = None
    seller: Id | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "DashboardFilters":
        if self.start and self.end and self.end < self.start:
            raise ValueError("end must not be before start")
        return self


class DashboardIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Revenue this quarter", "charts": sorted(CHARTS)[:2],
         "filters": {"currency": "EUR"}}]})

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=2000)
    # The schema names the charts that exist; the validator refuses others with their names.
    charts: list[str] = Field(min_length=1, max_length=12,
                              json_schema_extra={"items": {"type": "string",
                                                           "enum": sorted(CHARTS)}})
    filters: DashboardFilters = Field(default_factory=DashboardFilters)

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v

    @field_validator("charts")
    @classmethod
    def _known(cls, v: list[str]) -> list[str]:
        unknown = sorted(set(v) - set(CHARTS))
        if unknown:
            raise ValueError(f"unknown chart(s): {', '.join(unknown)}")
        if len(set(v)) != len(v):
            raise ValueError("a chart appears twice")
        return v


class DashboardOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    owner_id: int
    name: str
    description: str
    charts: list[str]
    filters: dict
    created_at: datetime
    updated_at: datetime


class ChartOut(BaseModel):
    key: str
    title: str
    mart: str
