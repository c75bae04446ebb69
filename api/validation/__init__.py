"""EHB-VALIDATOR: the shared pydantic types every service uses for input (clean text, emails,
phone numbers, money, quantities) and one helper to validate outside a request."""

from api.validation.types import (
    Currency,
    Email,
    MinorUnits,
    Money,
    Phone,
    PositiveMinorUnits,
    Quantity,
    clean_text,
    normalize_email,
    normalize_phone,
    strip_markup,
)
from api.validation.errors import validate

__all__ = [
    "Currency", "Email", "MinorUnits", "Money", "Phone", "PositiveMinorUnits", "Quantity",
    "clean_text", "normalize_email", "normalize_phone", "strip_markup", "validate",
]
