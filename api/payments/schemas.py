"""Request and response bodies of /payments."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from api.validation import StrictInt64


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CardIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"number": "4242 4242 4242 4242", "exp_month": 12, "exp_year": 2035}]})

    number: str = Field(min_length=12, max_length=23, description="sent to the provider's "
                        "tokenizer only; never stored or logged")
    exp_month: StrictInt64
    exp_year: StrictInt64


class BankAccountIn(_In):
    account_number: str = Field(min_length=6, max_length=40)
    routing: str = Field(min_length=3, max_length=32)


class MethodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    last4: str | None
    card_brand: str | None
    bank_routing: str | None
    created_at: datetime


class IntentIn(_In):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"amount": 1250, "currency": "EUR", "capture_method": "manual",
         "description": "Order 1"}]})

    amount: StrictInt64
    currency: str = Field(min_length=3, max_length=3)
    payee_user_id: StrictInt64 | None = None
    payment_method_id: StrictInt64 | None = None
    capture_method: Literal["automatic", "manual"] = "automatic"
    confirm: bool = False
    description: str = Field("", max_length=300)


class ConfirmIn(_In):
    payment_method_id: StrictInt64 | None = None


class CaptureIn(_In):
    amount: StrictInt64 | None = None


class RefundIn(_In):
    amount: StrictInt64 | None = None
    reason: str = Field("", max_length=200)


class IntentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    payee_user_id: int | None
    payee_account: str | None = None
    amount: int
    currency: str
    status: str
    capture_method: str
    payment_method_id: int | None
    amount_captured: int
    amount_refunded: int
    fee_amount: int
    failure_code: str | None
    description: str
    created_at: datetime


class RefundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    intent_id: int
    amount: int
    status: str
    ledger_transaction_id: int | None
    created_at: datetime
