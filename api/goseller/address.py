"""Delivery-address normalization shared with franchise territories (postal-code matching)."""

from __future__ import annotations

import re

_POSTAL = re.compile(r"^[A-Z0-9][A-Z0-9 -]{1,14}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")


def normalize_country(value: str) -> str:
    code = value.strip().upper()
    if not _COUNTRY.match(code):
        raise ValueError("country must be an ISO 3166-1 alpha-2 code such as 'DE'")
    return code


def normalize_postal_code(value: str) -> str:
    """Upper-case, without spaces or dashes: 'sw1a 1aa' and 'SW1A1AA' are the same code."""
    code = value.strip().upper()
    if not _POSTAL.match(code):
        raise ValueError("postal code must be 2-15 letters, digits, spaces or dashes")
    return re.sub(r"[ -]", "", code)
