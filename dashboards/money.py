"""Money on the pages: amounts stay integers in minor units until they are displayed, and one
chart or KPI shows one currency (amounts in different currencies are never added up)."""

from __future__ import annotations

from decimal import Decimal

# ISO 4217 minor-unit exponents that differ from 2 (display only).
_EXPONENT = {"JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "BHD": 3, "KWD": 3, "OMR": 3,
             "JOD": 3, "TND": 3}


def exponent(currency: str) -> int:
    return _EXPONENT.get(currency.upper(), 2)


def major(amount: int | None, currency: str) -> Decimal | None:
    """Minor units -> an exact Decimal in major units (for axes and labels)."""
    if amount is None:
        return None
    return Decimal(int(amount)).scaleb(-exponent(currency))


def fmt(currency: str) -> str:
    """A kpi() format for minor-unit amounts of this currency."""
    return "{:,.%df} %s" % (exponent(currency), currency)

