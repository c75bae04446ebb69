"""Payments and refunds: captures, refunds, fees (platform revenue) and intent outcomes for the
period against the previous one, in one currency at a time (the currency filter, else the
period's largest); captured amounts per currency (click a currency to show it on the other
charts), captures and refunds per day, and succeeded/failed intents per day.

The contract's payments mart is daily per currency (no payment-level table): no drill-down
grid here. The mart has no seller column, so scoped viewers get no rows (staff-only page).
"""

from __future__ import annotations

from dataclasses import replace

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards import money
from dashboards.catalog import mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, kpi,
                                   line)
from dashboards.context import query, require
from dashboards.pages._common import ANALYSTS, currency_period_sums, gate

ROLES = ANALYSTS
PAYMENTS = "marts.fct_payments_daily"
dash.register_page(__name__, path="/payments", name="Payments", order=20, roles=ROLES,
                   marts=[PAYMENTS])

_SUMS = ("intents", "succeeded", "failed", "purchase_captured", "topup_captured", "refunded",
         "fees")


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Payments and refunds"),
        dcc.Store(id="pay-currency"),
        html.Div(id="pay-selected", className="notice"),
        html.Div(id="pay-kpis", className="kpis"),
        html.Div([graph("pay-by-currency"), graph("pay-daily")], className="row"),
        html.Div([graph("pay-outcomes")], className="row"),
    ])


def period_sums(f: flt.Filters, currency: str) -> dict[str, tuple[int, int]]:
    return currency_period_sums(PAYMENTS, "payment_date", _SUMS, f, currency)


def _rate(num: int, den: int) -> float | None:
    return num / den if den else None


def kpis(f: flt.Filters, currency: str) -> list:
    s = period_sums(f, currency)
    m, pct, num = money.fmt(currency), "{:.1%}", "{:,.0f}"

    def amount(col):
        return tuple(money.major(v, currency) for v in s[col])

    def refund_rate(i):
        return _rate(s["refunded"][i], s["purchase_captured"][i] + s["topup_captured"][i])

    return [
        kpi("GMV (purchases captured)", *amount("purchase_captured"), m),
        kpi("Top-ups captured", *amount("topup_captured"), m),
        kpi("Refunded", *amount("refunded"), m),
        kpi("Refund rate", refund_rate(0), refund_rate(1), pct),
        kpi("Fees (revenue)", *amount("fees"), m),
        kpi("Payment intents", *s["intents"], num),
        kpi("Success rate", _rate(s["succeeded"][0], s["intents"][0]),
            _rate(s["succeeded"][1], s["intents"][1]), pct),
    ]


def register_callbacks(app) -> None:
    @app.callback(Output("pay-currency", "data"), Input("pay-by-currency", "clickData"),
                  prevent_initial_call=True)
    def pick_currency(click):
        return click["points"][0]["x"] if click else None

    @app.callback(Output("pay-kpis", "children"), Output("pay-by-currency", "figure"),
                  Output("pay-daily", "figure"), Output("pay-outcomes", "figure"),
                  Output("pay-selected", "children"),
                  Input("url", "search"), Input("pay-currency", "data"))
    def charts(search, clicked):
        try:
            require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart(PAYMENTS), f)
            per = query("SELECT currency, sum(purchase_captured) AS gmv, "
                        f"sum(refunded) AS refunded FROM {PAYMENTS} WHERE {where} "
                        "GROUP BY 1 ORDER BY 2 DESC, 1", params)
            currencies = per.column("currency")
            currency = f.currency or (clicked if clicked in currencies else None) or (
                currencies[0] if currencies else None)
            if currency is None:
                msg = "no payments in this period"
                return ([html.Div(msg, className="notice")], empty_figure(msg),
                        empty_figure(msg), empty_figure(msg), msg)
            # Amounts of different currencies side by side, each in its own major units.
            colors = ["#d62728" if c == currency else "#1f77b4" for c in currencies]
            by_cur = figure([bar(currencies, [float(money.major(v, c)) for c, v in
                                              zip(currencies, per.column("gmv"))],
                                 "GMV", marker={"color": colors})],
                            "Purchases captured by currency, major units (click one)")
            where, params = flt.where(mart(PAYMENTS), replace(f, currency=currency))
            d = query("SELECT payment_date, purchase_captured, topup_captured, refunded, fees, "
                      f"succeeded, failed, intents FROM {PAYMENTS} WHERE {where} ORDER BY 1",
                      params)
            days = d.column("payment_date")

            def major(col):
                return [float(money.major(v, currency)) for v in d.column(col)]
            daily = figure([bar(days, major("purchase_captured"), "purchases"),
                            bar(days, major("topup_captured"), "top-ups"),
                            line(days, major("refunded"), "refunded"),
                            line(days, major("fees"), "fees")],
                           f"Captured, refunded and fees per day ({currency})",
                           barmode="stack")
            outcomes = figure([bar(days, d.column("succeeded"), "succeeded"),
                               bar(days, d.column("failed"), "failed",
                                   marker={"color": "#d62728"})],
                              f"Payment intents per day ({currency})", barmode="stack")
            source = ("currency filter" if f.currency else
                      "clicked" if clicked == currency else "largest in period")
            note = f"Showing {currency} ({source}); amounts are never added across currencies"
            return kpis(f, currency), by_cur, daily, outcomes, note
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return ([html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg),
                    empty_figure(msg), msg)
