"""Request and response bodies of /wallets."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from api.validation import StrictInt64


class OpenWalletIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    currency: str = Field(min_length=3, max_length=3, examples=["USD"])


class AccountOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    currency: str
    balance: int
    created_at: datetime


class TransferIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"to_user_id": 2, "amount": 100, "currency": "EUR", "description": "Lunch"}]})
    to_user_id: StrictInt64
    amount: StrictInt64 = Field(description="minor units, > 0")
    currency: str = Field(min_length=3, max_length=3)
    description: str = Field("", max_length=300)


class PostingOut(BaseModel):
    account_id: int
    user_id: int | None
    account_kind: str
    currency: str
    amount: int


class TransactionOut(BaseModel):
    id: int
    kind: str
    description: str
    created_at: datetime
    reverses_id: int | None
    postings: list[PostingOut]


class HistoryItem(BaseModel):
    entry_id: int
    transaction_id: int
    kind: str
    description: str
    currency: str
    amount: int
    balance_after: int
    created_at: datetime


class HistoryPage(BaseModel):
    items: list[HistoryItem]
    next_cursor: str | None
