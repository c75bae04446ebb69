"""GoSeller request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from api.goseller.address import normalize_country, normalize_postal_code
from api.validation import Currency, Id, PositiveMinorUnits, clean_text

# Free text goes through the shared validator: markup stripped, length checked on the rest.
Text = clean_text(max_length=200)
Reason = clean_text(max_length=500)
Sku = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64,
                                       pattern=r"^[A-Za-z0-9._-]+$")]
Category = Annotated[str, StringConstraints(strip_whitespace=True, to_lower=True, min_length=1,
                                            max_length=64)]
Money = PositiveMinorUnits
Stock = Annotated[int, Field(strict=True, ge=0, le=10**9)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SellerIn(Strict):
    shop_name: Text


class SellerStatusIn(Strict):
    status: Literal["verified", "suspended"]
    reason: Reason | None = None


class SellerOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    user_id: int
    shop_name: str
    status: str
    status_reason: str | None
    verified_at: datetime | None
    created_at: datetime


class ProductIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"sku": "MUG-BLUE-01", "title": "Blue mug", "category": "home", "price_minor": 1250,
         "currency": "EUR", "stock": 10}]})

    sku: Sku
    title: Text
    category: Category
    price_minor: Money
    currency: Currency
    stock: Stock
    active: bool = True


class ProductPatch(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"price_minor": 1300, "stock": 12}]})

    sku: Sku | None = None
    title: Text | None = None
    category: Category | None = None
    price_minor: Money | None = None
    currency: Currency | None = None
    stock: Stock | None = None
    active: bool | None = None


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    seller_id: int
    sku: str
    title: str
    category: str
    price_minor: int
    currency: str
    stock: int
    active: bool


class ProductPage(BaseModel):
    items: list[ProductOut]
    total: int
    limit: int
    offset: int


class CartItemIn(Strict):
    product_id: Id
    qty: int = Field(strict=True, ge=0, le=10_000, examples=[1])


class AddressIn(Strict):
    name: Text
    line1: Text
    city: Text
    region: clean_text(max_length=120) | None = None
    postal_code: Annotated[str, AfterValidator(normalize_postal_code)]
    country: Annotated[str, AfterValidator(normalize_country)]


class PlaceIn(Strict):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"address": {"name": "Ada Buyer", "line1": "Main St 1", "city": "Berlin",
                     "postal_code": "10115", "country": "DE"}}]})

    address: AddressIn


class PayIn(Strict):
    # A card or bank payment method of mine: tops my wallet up for what it lacks.
    payment_method_id: Id | None = None


class ReasonIn(Strict):
    reason: Reason | None = None


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    product_id: int
    qty: int
    unit_price_minor: int | None
    currency: str | None
    title: str | None


class OrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    buyer_id: int
    seller_id: int
    status: str
    currency: str | None
    subtotal_minor: int
    platform_fee_minor: int
    refunded_minor: int
    refund_status: str
    payment_intent_id: int | None = None
    ship_name: str | None
    ship_line1: str | None
    ship_city: str | None
    ship_region: str | None
    ship_postal_code: str | None
    ship_country: str | None
    placed_at: datetime | None
    paid_at: datetime | None
    fulfilled_at: datetime | None
    delivered_at: datetime | None
    return_deadline: datetime | None
    canceled_at: datetime | None
    returned_at: datetime | None
    items: list[ItemOut] = []


class PayoutOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    order_id: int
    seller_id: int
    currency: str
    gross_minor: int
    fee_minor: int
    net_minor: int
    status: str
    ledger_ref: str | None
    paid_at: datetime | None


class PayoutRunOut(BaseModel):
    created: int
    payouts: list[PayoutOut]
