"""Helpers the page modules share."""

from __future__ import annotations

import flask
from dash import html

from dashboards.auth import Identity
from dashboards.context import allowed

ANALYSTS = frozenset({"analyst", "support"})
OPERATORS = frozenset({"analyst"})


def gate(roles: frozenset[str] | None):
    """None when the signed-in viewer may open the page, else the refusal to show instead."""
    ident = Identity.from_session(flask.session.get("user")) if flask.has_request_context() else None
    if allowed(ident, roles):
        return None
    return html.Div("This page is not open to your role.", className="notice", id="forbidden")


def currency_period_sums(table: str, date_column: str, columns: tuple[str, ...], f,
                         currency: str) -> dict[str, tuple[int, int]]:
    """column -> (current, previous period) sums of a daily mart for one currency, in one
    scan over both periods; the scope and filters come from the mart's catalog entry."""
    from dataclasses import replace

    from dashboards import filters as flt
    from dashboards.catalog import mart
    from dashboards.context import query

    prev = f.previous()
    where, params = flt.where(mart(table), replace(f, start=prev.start, currency=currency))
    cur = f"{date_column} >= $cur_start"
    cols = ", ".join(f"sum({c}) FILTER (WHERE {cur}), sum({c}) FILTER (WHERE NOT ({cur}))"
                     for c in columns)
    row = query(f"SELECT {cols} FROM {table} WHERE {where}",
                {**params, "cur_start": f.start}).rows[0]
    vals = [0 if v is None else int(v) for v in row]
    return {c: (vals[2 * i], vals[2 * i + 1]) for i, c in enumerate(columns)}
