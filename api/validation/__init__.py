"""EHB-VALIDATOR: the shared pydantic types every service uses for input (clean text, emails,
phone numbers, money, quantities, int64 integers and row ids) and one helper to validate
outside a request."""

from api.validation.types import (
    INT64_MAX,
    INT64_MIN,
    Currency,
    Email,
    Id,
    Int64,
    MinorUnits,
    Money,
    Phone,
    PositiveMinorUnits,
    Quantity,
    StrictId,
    StrictInt64,
    clean_text,
    normalize_email,
    normalize_phone,
    strip_markup,
)
from api.validation.errors import validate

__all__ = [
    "INT64_MAX", "INT64_MIN", "Currency", "Email", "Id", "Int64", "MinorUnits", "Money", "Phone",
    "PositiveMinorUnits", "Quantity", "StrictId", "StrictInt64",
    "clean_text", "normalize_email", "normalize_phone", "strip_markup", "validate",
]
