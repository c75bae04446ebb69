"""Global filters (date range, currency, territory, seller): parsed from and written to the URL
query string, turned into a WHERE fragment with named bound parameters for one mart."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlencode

from dashboards.catalog import Mart

DEFAULT_DAYS = 30
_CURRENCY = re.compile(r"^[A-Z]{3}$")


@dataclass(frozen=True)
class Filters:
    start: date
    end: date  # inclusive
    currency: str | None = None
    territory: int | None = None
    seller: int | None = None

    @classmethod
    def default(cls, today: date | None = None) -> "Filters":
        today = today or date.today()
        return cls(today - timedelta(days=DEFAULT_DAYS - 1), today)

    def previous(self) -> "Filters":
        """The period of the same length just before this one (KPIs compare against it)."""
        days = (self.end - self.start).days + 1
        return replace(self, start=self.start - timedelta(days=days),
                       end=self.start - timedelta(days=1))

    def to_query(self) -> str:
        values = {k: (v.isoformat() if isinstance(v, date) else v)
                  for k, v in asdict(self).items() if v not in (None, "")}
        return "?" + urlencode(values)

    def to_dict(self) -> dict:
        return {k: (v.isoformat() if isinstance(v, date) else v) for k, v in asdict(self).items()}


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _int(value) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def from_mapping(values: dict, today: date | None = None) -> Filters:
    """Lenient: a bad value falls back to the default rather than failing the page."""
    base = Filters.default(today)
    start = _date(values.get("start")) or base.start
    end = _date(values.get("end")) or base.end
    if end < start:
        start, end = end, start
    currency = (values.get("currency") or "").upper() or None
    if currency and not _CURRENCY.match(currency):
        currency = None
    return Filters(start, end, currency, _int(values.get("territory")), _int(values.get("seller")))


def from_query(search: str | None, today: date | None = None) -> Filters:
    parsed = parse_qs((search or "").lstrip("?"))
    return from_mapping({k: v[0] for k, v in parsed.items()}, today)


def where(m: Mart, f: Filters, prefix: str = "f") -> tuple[str, dict]:
    """`col >= $start AND ...` for the columns this mart has; names come from the catalog."""
    clauses, params = [], {}
    if m.date_column:
        col = m.date_column
        if m.columns[col].startswith("TIMESTAMP"):
            # UTC day bounds, not CAST(col AS DATE): no per-row time zone conversion
            clauses.append(f'"{col}" >= ${prefix}_start AND "{col}" < ${prefix}_end')
            params[f"{prefix}_start"] = datetime(f.start.year, f.start.month, f.start.day,
                                                 tzinfo=UTC)
            params[f"{prefix}_end"] = datetime(f.end.year, f.end.month, f.end.day,
                                               tzinfo=UTC) + timedelta(days=1)
        else:
            clauses.append(f'"{col}" BETWEEN ${prefix}_start AND ${prefix}_end')
            params[f"{prefix}_start"], params[f"{prefix}_end"] = f.start, f.end
    for key in ("currency", "territory", "seller"):
        value = getattr(f, key)
        if value is not None and key in m.filters:
            clauses.append(f'"{m.filters[key]}" = ${prefix}_{key}')
            params[f"{prefix}_{key}"] = value
    return (" AND ".join(clauses) or "true"), params
