"""ISO 4217 currencies the ledger accepts, with their minor-unit exponent (display only:
amounts are always integers in minor units)."""

from __future__ import annotations

from api.core.errors import Unprocessable

MINOR_UNITS: dict[str, int] = {
    "AED": 2, "ARS": 2, "AUD": 2, "BDT": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "CZK": 2, "DKK": 2, "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2,
    "IDR": 2, "ILS": 2, "INR": 2, "JOD": 3, "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3, "LKR": 2,
    "MAD": 2, "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "OMR": 3, "PHP": 2, "PKR": 2,
    "PLN": 2, "QAR": 2, "RON": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2,
    "TWD": 2, "UAH": 2, "USD": 2, "VND": 0, "ZAR": 2,
}


def check_currency(code: str) -> str:
    if code not in MINOR_UNITS:
        raise Unprocessable(f"unknown currency '{code}': use an ISO 4217 code such as USD",
                            code="unknown_currency", details={"currency": code})
    return code


def check_amount(amount: int) -> int:
    # bool is an int subclass; refuse it explicitly along with zero and negatives.
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        raise Unprocessable("amount must be a positive integer in minor units",
                            code="invalid_amount", details={"amount": amount})
    return amount
