"""Bodies of the reports API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
FORMATS = ("csv", "xlsx", "parquet", "pdf")


class ParameterSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["date", "int", "float", "text"]
    required: bool = False


class ChartSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["bar", "line"] = "bar"
    x: str = Field(min_length=1, max_length=63)
    y: list[str] = Field(min_length=1, max_length=6)


class DefinitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"name": "Users by role", "sql": "SELECT primary_role, count(*) AS users "
         "FROM marts.dim_users WHERE signup_date >= $since GROUP BY 1 ORDER BY 2 DESC",
         "parameters": {"since": {"type": "date", "required": True}},
         "default_filters": {"since": "2026-07-01"},
         "chart": {"kind": "bar", "x": "primary_role", "y": ["users"]}}]})

    name: str = Field(min_length=1, max_length=120)
    description: str = Field(default="", max_length=4000)
    sql: str = Field(min_length=1, max_length=20_000)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict, max_length=20)
    default_filters: dict[str, Any] = Field(default_factory=dict, max_length=20)
    chart: ChartSpec | None = None

    @field_validator("name")
    @classmethod
    def _strip(cls, v: str) -> str:
        v = v.strip()
        if not v:
            raise ValueError("name must not be blank")
        return v

    @field_validator("parameters")
    @classmethod
    def _names(cls, v: dict[str, ParameterSpec]) -> dict[str, ParameterSpec]:
        bad = [k for k in v if not NAME.match(k)]
        if bad:
            raise ValueError(f"parameter names must be lower_snake_case: {', '.join(bad)}")
        return v

    @model_validator(mode="after")
    def _defaults_declared(self) -> "DefinitionIn":
        extra = sorted(set(self.default_filters) - set(self.parameters))
        if extra:
            raise ValueError(f"default_filters name undeclared parameters: {', '.join(extra)}")
        return self


class DefinitionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    description: str
    owner_id: int | None
    sql: str
    parameters: dict[str, Any]
    default_filters: dict[str, Any]
    chart: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    parameters: dict[str, Any] = Field(default_factory=dict, max_length=20)
    limit: int = Field(default=1000, ge=1, le=10_000)


class RunOut(BaseModel):
    columns: list[str]
    rows: list[list[Any]]
    row_count: int
    truncated: bool
    parameters: dict[str, Any]


CADENCES = ("daily", "weekly", "monthly")


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["csv", "xlsx", "parquet", "pdf"] = "csv"
    cadence: Literal["daily", "weekly", "monthly"]
    parameters: dict[str, Any] = Field(default_factory=dict, max_length=20)


class SubscriptionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    definition_id: int
    user_id: int
    format: str
    cadence: str
    parameters: dict[str, Any]
    active: bool
    last_exported_at: datetime | None
    created_at: datetime


class ExportRunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    subscription_id: int | None
    definition_id: int | None
    cadence: str
    format: str
    status: str
    rows: int | None
    bytes: int | None
    error: str | None
    started_at: datetime
    finished_at: datetime
