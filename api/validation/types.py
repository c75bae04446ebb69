"""Annotated pydantic types: use them as field types in every request schema.

Each validator raises `PydanticCustomError`, so a bad field renders through the gateway's one
error format (422 validation_error with loc/msg/type per field) like any other constraint.
"""

from __future__ import annotations

import html
import re
import unicodedata
from typing import Annotated

import bleach
import phonenumbers
from babel.numbers import list_currencies
from email_validator import EmailNotValidError, validate_email
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict
from pydantic_core import PydanticCustomError

from api.validation.settings import get_validation_settings

# Content of these elements is code or styling, never text a person meant to write.
_DROP_WITH_CONTENT = re.compile(r"<(script|style|iframe|object|template)\b[^>]*>.*?</\1\s*>",
                                re.IGNORECASE | re.DOTALL)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_CURRENCIES = frozenset(list_currencies())


# Rounds of "strip tags, decode entities" before giving up. Each round peels one layer of
# entity encoding; no person writes text encoded 32 times over, and each round parses the whole
# text, so deeper nesting is refused rather than decoded further.
MAX_DECODE_ROUNDS = 32


def strip_markup(value: str) -> str:
    """Plain text from user input: tags and comments removed, entities decoded, repeated until
    the text no longer changes (so `&lt;b&gt;`, or the same encoded any number of times up to
    MAX_DECODE_ROUNDS, cannot smuggle a tag through), control characters dropped, ends trimmed.
    Text still changing after MAX_DECODE_ROUNDS is refused (`text_markup_nested`). The result
    is text, not HTML: renderers still escape it."""
    text = _CONTROL.sub("", unicodedata.normalize("NFC", value))
    for _ in range(MAX_DECODE_ROUNDS):
        cleaned = _DROP_WITH_CONTENT.sub("", text)
        cleaned = bleach.clean(cleaned, tags=set(), attributes={}, strip=True,
                               strip_comments=True)
        cleaned = _CONTROL.sub("", html.unescape(cleaned))
        if cleaned == text:
            return text.strip()
        text = cleaned
    raise PydanticCustomError(
        "text_markup_nested",
        "still holds markup or entities after {max} rounds of decoding: send plain text",
        {"max": MAX_DECODE_ROUNDS})


def raw_length_limit(max_length: int) -> int:
    """Characters accepted before markup is stripped: room for the markup around a full-length
    text, but bounded, since decoding costs a parse of the whole input per round."""
    return 4 * max_length + 1000


def clean_text(*, max_length: int, min_length: int = 1):
    """A free-text type: markup stripped, then the length checked on what remains."""
    raw_limit = raw_length_limit(max_length)

    def _check(value: str) -> str:
        if len(value) > raw_limit:
            raise PydanticCustomError(
                "input_too_long", "must be at most {max} characters long, markup included",
                {"max": raw_limit})
        text = strip_markup(value)
        if len(text) < min_length:
            raise PydanticCustomError(
                "text_too_short", "must contain at least {min} characters of text",
                {"min": min_length})
        if len(text) > max_length:
            raise PydanticCustomError(
                "text_too_long", "must contain at most {max} characters", {"max": max_length})
        return text

    return Annotated[str, Strict(), AfterValidator(_check)]


def normalize_email(value: str) -> str:
    try:
        result = validate_email(value.strip(), check_deliverability=False)
    except EmailNotValidError as exc:
        raise PydanticCustomError("email_invalid", "not a valid email address: {reason}",
                                  {"reason": str(exc)}) from None
    # The platform stores emails lower-cased so uniqueness is case-insensitive.
    return result.normalized.lower()


def normalize_phone(value: str) -> str:
    region = get_validation_settings().default_phone_region or None
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException as exc:
        raise PydanticCustomError("phone_invalid", "not a phone number: {reason}",
                                  {"reason": str(exc).split(") ", 1)[-1]}) from None
    if not phonenumbers.is_valid_number(number):
        raise PydanticCustomError("phone_invalid", "not a valid phone number for its region")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _currency(value: str) -> str:
    code = value.strip().upper()
    if code not in _CURRENCIES:
        raise PydanticCustomError("currency_invalid", "not an ISO 4217 currency code")
    return code


def _max_minor(value: int) -> int:
    limit = get_validation_settings().max_minor_units
    if value > limit:
        raise PydanticCustomError("amount_too_large", "must be at most {max} minor units",
                                  {"max": limit})
    return value


# Every integer a request carries (body field, path or query parameter) is stored or compared
# as PostgreSQL bigint: a larger one must be a 422 naming the field, never a database error.
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
Int64 = Annotated[int, Field(ge=INT64_MIN, le=INT64_MAX)]
StrictInt64 = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
# A row id. `Id` for path and query parameters (they arrive as text), `StrictId` in JSON bodies
# (a JSON integer only). The example documents the shape and lets fuzzers name a real row.
Id = Annotated[int, Field(ge=1, le=INT64_MAX, examples=[1])]
StrictId = Annotated[int, Strict(), Field(ge=1, le=INT64_MAX, examples=[1])]

Email = Annotated[str, Strict(), Field(max_length=320), AfterValidator(normalize_email)]
Phone = Annotated[str, Strict(), Field(max_length=40), AfterValidator(normalize_phone)]
Currency = Annotated[str, Strict(), Field(min_length=3, max_length=3), AfterValidator(_currency)]
# Money is an integer count of minor units: floats, numeric strings and booleans are refused.
# (max_minor_units, a setting, is the tighter bound; int64 is the one documented statically.)
MinorUnits = Annotated[int, Strict(), Field(ge=0, le=INT64_MAX), AfterValidator(_max_minor)]
PositiveMinorUnits = Annotated[int, Strict(), Field(gt=0, le=INT64_MAX), AfterValidator(_max_minor)]
Quantity = Annotated[int, Strict(), Field(ge=1, le=100_000)]


class Money(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    amount_minor: MinorUnits
    currency: Currency
