"""Affiliates: commissions per day by status (pending, approved, reversed, paid) in one
currency at a time (the currency filter, else the period's largest), commission totals per
status for the period against the previous one, and referrals and conversions per affiliate.
An affiliate sees only their own rows: both marts are scoped by affiliate_user_id in the
warehouse, not here.
"""

from __future__ import annotations

from dataclasses import replace

import dash
from dash import Input, Output, html

from dashboards import filters as flt
from dashboards import money
from dashboards.catalog import mart
from dashboards.components import bar, empty_figure, failure_message, figure, graph, kpi
from dashboards.context import query, require
from dashboards.pages._common import ANALYSTS, gate

ROLES = ANALYSTS | {"affiliate"}
COMMISSIONS = "marts.fct_affiliate_commissions_daily"
CONVERSIONS = "marts.affiliate_conversions"
dash.register_page(__name__, path="/affiliates", name="Affiliates", order=26, roles=ROLES,
                   marts=[COMMISSIONS, CONVERSIONS])

STATUSES = ("pending", "approved", "reversed", "paid")
_COLORS = {"pending": "#ff7f0e", "approved": "#1f77b4", "reversed": "#d62728",
           "paid": "#2ca02c"}


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Affiliates"),
        html.Div(id="aff-selected", className="notice"),
        html.Div(id="aff-kpis", className="kpis"),
        html.Div([graph("aff-daily"), graph("aff-conversions")], className="row"),
    ])


def status_sums(f: flt.Filters, currency: str) -> dict[str, tuple[int, int]]:
    """status -> (current, previous) commission_minor for one currency."""
    prev = f.previous()
    where, params = flt.where(mart(COMMISSIONS), replace(f, start=prev.start, currency=currency))
    cur = "commission_date >= $cur_start"
    rows = query(f"SELECT status, sum(commission_minor) FILTER (WHERE {cur}), "
                 f"sum(commission_minor) FILTER (WHERE NOT ({cur})) FROM {COMMISSIONS} "
                 f"WHERE {where} GROUP BY 1", {**params, "cur_start": f.start}).rows
    found = {r[0]: (int(r[1] or 0), int(r[2] or 0)) for r in rows}
    return {s: found.get(s, (0, 0)) for s in STATUSES}


def _failure(msg: str):
    return [html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg), msg


def register_callbacks(app) -> None:
    @app.callback(Output("aff-kpis", "children"), Output("aff-daily", "figure"),
                  Output("aff-conversions", "figure"), Output("aff-selected", "children"),
                  Input("url", "search"))
    def charts(search):
        try:
            require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart(COMMISSIONS), f)
            per = query(f"SELECT currency, sum(commission_minor) AS c FROM {COMMISSIONS} "
                        f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1", params)
            currencies = per.column("currency")
            if not currencies:  # also a currency filter without rows in the period
                return _failure("no affiliate commissions in this period")
            currency = f.currency or currencies[0]
            sums = status_sums(f, currency)
            m = money.fmt(currency)
            cards = [kpi(f"Commissions {s}", *(money.major(v, currency) for v in sums[s]), m)
                     for s in STATUSES]
            where, params = flt.where(mart(COMMISSIONS), replace(f, currency=currency))
            d = query("SELECT commission_date, status, sum(commission_minor) AS amount "
                      f"FROM {COMMISSIONS} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", params)
            traces = []
            for s in STATUSES:
                pts = [(day, amount) for day, st, amount in d.rows if st == s]
                traces.append(bar([p[0] for p in pts],
                                  [float(money.major(p[1], currency)) for p in pts], s,
                                  marker={"color": _COLORS[s]}))
            daily = figure(traces, f"Commissions per day by status ({currency})",
                           barmode="stack")
            conv = query("SELECT affiliate_id, referrals, converted_referrals "
                         f"FROM {CONVERSIONS} ORDER BY referrals DESC, affiliate_id LIMIT 20")
            labels = [f"affiliate {i}" for i in conv.column("affiliate_id")]
            conversions = figure([bar(labels, conv.column("referrals"), "referrals"),
                                  bar(labels, conv.column("converted_referrals"), "converted")],
                                 "Referrals and conversions per affiliate (lifetime)",
                                 barmode="group")
            source = "currency filter" if f.currency else "largest in period"
            note = f"Showing {currency} ({source}); amounts are never added across currencies"
            return cards, daily, conversions, note
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return _failure(msg)
