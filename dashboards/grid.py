"""dash-ag-grid infinite row model -> one page of a mart, as parameterized SQL.

The grid sends {startRow, endRow, sortModel, filterModel}. Column ids are checked against the
mart's contract columns; filter values are bound parameters; the page size is capped.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from dashboards.catalog import Mart
from dashboards.filters import Filters, where

MAX_PAGE = 500

_TEXT_OPS = {
    "equals": ("= {p}", "{v}"), "notEqual": ("<> {p}", "{v}"),
    "contains": ("ILIKE {p}", "%{v}%"), "notContains": ("NOT ILIKE {p}", "%{v}%"),
    "startsWith": ("ILIKE {p}", "{v}%"), "endsWith": ("ILIKE {p}", "%{v}"),
}
_NUMBER_OPS = {"equals": "=", "notEqual": "<>", "lessThan": "<", "lessThanOrEqual": "<=",
               "greaterThan": ">", "greaterThanOrEqual": ">="}


class GridRequestError(ValueError):
    pass


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _column(m: Mart, col: str) -> str:
    if col not in m.columns:
        raise GridRequestError(f"unknown column {col!r}")
    return f'"{col}"'


def _condition(m: Mart, col: str, spec: dict, params: dict) -> str:
    if "conditions" in spec or "condition1" in spec:
        parts = spec.get("conditions") or [spec.get("condition1"), spec.get("condition2")]
        joiner = " OR " if spec.get("operator", "AND").upper() == "OR" else " AND "
        return "(" + joiner.join(_condition(m, col, c, params) for c in parts if c) + ")"
    ident = _column(m, col)
    kind, op = spec.get("filterType", "text"), spec.get("type", "equals")
    name = f"g{len(params)}"
    if op == "blank":
        return f"{ident} IS NULL"
    if op == "notBlank":
        return f"{ident} IS NOT NULL"
    if kind == "text":
        if op not in _TEXT_OPS:
            raise GridRequestError(f"unsupported text filter {op!r}")
        sql, pattern = _TEXT_OPS[op]
        value = str(spec.get("filter", ""))
        params[name] = pattern.format(v=_escape_like(value) if "%" in pattern else value)
        escape = " ESCAPE '\\'" if "LIKE" in sql else ""
        return f"CAST({ident} AS VARCHAR) {sql.format(p='$' + name)}{escape}"
    if kind == "number":
        if op == "inRange":
            params[name], params[name + "b"] = float(spec["filter"]), float(spec["filterTo"])
            return f"{ident} BETWEEN ${name} AND ${name}b"
        if op not in _NUMBER_OPS:
            raise GridRequestError(f"unsupported number filter {op!r}")
        params[name] = float(spec["filter"])
        return f"{ident} {_NUMBER_OPS[op]} ${name}"
    if kind == "date":
        def day(v):
            return datetime.fromisoformat(str(v)).date() if v else None
        if m.columns[col].startswith("TIMESTAMP"):
            return _timestamp_condition(ident, op, day(spec.get("dateFrom")),
                                        day(spec.get("dateTo")), name, params)
        target = ident
        if op == "inRange":
            params[name], params[name + "b"] = day(spec.get("dateFrom")), day(spec.get("dateTo"))
            return f"{target} BETWEEN ${name} AND ${name}b"
        if op not in _NUMBER_OPS:
            raise GridRequestError(f"unsupported date filter {op!r}")
        params[name] = day(spec.get("dateFrom"))
        return f"{target} {_NUMBER_OPS[op]} ${name}"
    raise GridRequestError(f"unsupported filter type {kind!r}")


def _timestamp_condition(ident: str, op: str, start: date | None, end: date | None, name: str,
                         params: dict) -> str:
    """Day filters on a TIMESTAMPTZ column as UTC bounds (no per-row time zone casts)."""
    def bound(d: date | None, plus: int = 0) -> datetime:
        if d is None:
            raise GridRequestError("date filter without a date")
        return datetime(d.year, d.month, d.day, tzinfo=UTC) + timedelta(days=plus)

    lo, hi = f"${name}", f"${name}b"
    if op == "equals":
        params[name], params[name + "b"] = bound(start), bound(start, 1)
        return f"({ident} >= {lo} AND {ident} < {hi})"
    if op == "inRange":
        params[name], params[name + "b"] = bound(start), bound(end, 1)
        return f"({ident} >= {lo} AND {ident} < {hi})"
    if op == "notEqual":
        params[name], params[name + "b"] = bound(start), bound(start, 1)
        return f"({ident} < {lo} OR {ident} >= {hi})"
    if op == "lessThan":
        params[name] = bound(start)
        return f"{ident} < {lo}"
    if op == "greaterThan":
        params[name] = bound(start, 1)
        return f"{ident} >= {lo}"
    if op == "lessThanOrEqual":
        params[name] = bound(start, 1)
        return f"{ident} < {lo}"
    if op == "greaterThanOrEqual":
        params[name] = bound(start)
        return f"{ident} >= {lo}"
    raise GridRequestError(f"unsupported date filter {op!r}")


def page_query(m: Mart, request: dict, filters: Filters | None,
               extra: dict[str, object] | None = None) -> tuple[str, str, dict]:
    """(rows SQL, count SQL, params) for one page of the grid."""
    params: dict = {}
    clauses = []
    if filters is not None:
        sql, p = where(m, filters)
        clauses.append(sql)
        params.update(p)
    for col, value in (extra or {}).items():  # cross-filters from clicked charts
        name = f"x{len(params)}"
        clauses.append(f"{_column(m, col)} = ${name}")
        params[name] = value
    for col, spec in (request.get("filterModel") or {}).items():
        clauses.append(_condition(m, col, spec, params))
    order = [f"{_column(m, s['colId'])} {'DESC' if s.get('sort') == 'desc' else 'ASC'}"
             for s in request.get("sortModel") or []]
    start = max(int(request.get("startRow") or 0), 0)
    end = int(request.get("endRow") or start + 100)
    limit = min(max(end - start, 1), MAX_PAGE)
    params["g_limit"], params["g_offset"] = limit, start
    cols = ", ".join(f'"{c}"' for c in m.columns)
    where_sql = " AND ".join(clauses) or "true"
    order_sql = ("ORDER BY " + ", ".join(order)) if order else ""
    rows = (f"SELECT {cols} FROM {m.name} WHERE {where_sql} {order_sql} "
            f"LIMIT $g_limit OFFSET $g_offset")
    count = f"SELECT count(*) FROM {m.name} WHERE {where_sql}"
    return rows, count, params


def jsonable(value):
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return value
