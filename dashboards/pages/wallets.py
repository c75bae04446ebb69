"""Wallets and ledger: wallet float and held funds (current balances), reconciliation of stored
balances against the ledger, ledger volume and transfers per day against the previous period,
in one currency at a time; balances by account kind (click a kind to filter the accounts
table) and every ledger account as a drill-down grid.

Held funds are the balances of `hold` accounts. The contract has no mart of blocked transfers
yet, so none are shown. Accounts are scoped by user_id: staff only open this page.
"""

from __future__ import annotations

from dataclasses import replace

import dash
from dash import Input, Output, html

from dashboards import filters as flt
from dashboards import money
from dashboards.catalog import mart
from dashboards.components import (bar, empty_figure, failure_message, figure, graph, grid,
                                   kpi, line, register_grid)
from dashboards.context import query, require
from dashboards.pages._common import ANALYSTS, currency_period_sums, gate

ROLES = ANALYSTS
LEDGER, BALANCES = "marts.fct_ledger_daily", "marts.wallet_balances"
dash.register_page(__name__, path="/wallets", name="Wallets and ledger", order=25,
                   roles=ROLES, marts=[LEDGER, BALANCES])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Wallets and ledger"),
        html.Div(id="wl-selected", className="notice"),
        html.Div(id="wl-kpis", className="kpis"),
        html.Div([graph("wl-kinds"), graph("wl-daily")], className="row"),
        html.H3("Ledger accounts (click a kind above to filter)"),
        grid("wl-grid", BALANCES),
    ])


def balances(currency: str) -> dict[str, int]:
    """Current balance totals of one currency: per kind, plus unreconciled accounts."""
    r = query("SELECT sum(balance) FILTER (WHERE kind = 'user'), "
              "sum(balance) FILTER (WHERE kind = 'hold'), "
              "count(*) FILTER (WHERE NOT is_reconciled), "
              "sum(abs(balance - ledger_balance)) FILTER (WHERE NOT is_reconciled) "
              f"FROM {BALANCES} WHERE currency = $c", {"c": currency}).rows[0]
    return {"float": r[0], "held": r[1], "unreconciled": int(r[2] or 0),
            "difference": int(r[3] or 0)}


def ledger_sums(f: flt.Filters, currency: str) -> dict[str, tuple[int, int]]:
    return currency_period_sums(LEDGER, "ledger_date", ("transactions", "volume", "transfer_volume",
                                                       "unbalanced_transactions"), f, currency)


def kpis(f: flt.Filters, currency: str) -> list:
    b, s = balances(currency), ledger_sums(f, currency)
    m, num = money.fmt(currency), "{:,.0f}"

    def amount(col):
        return tuple(money.major(v, currency) for v in s[col])

    # Balances are the current state: there is no previous-period figure to compare with.
    return [
        kpi("Wallet float (user balances)", money.major(b["float"], currency), None, m),
        kpi("Held funds (hold accounts)", money.major(b["held"], currency), None, m),
        kpi("Accounts not reconciled", b["unreconciled"], None, num),
        kpi("Unreconciled difference", money.major(b["difference"], currency), None, m),
        kpi("Ledger volume", *amount("volume"), m),
        kpi("Transfer volume", *amount("transfer_volume"), m),
        kpi("Ledger transactions", *s["transactions"], num),
        kpi("Unbalanced transactions (must be 0)", *s["unbalanced_transactions"], num),
    ]


def register_callbacks(app) -> None:
    @app.callback(Output("wl-kpis", "children"), Output("wl-kinds", "figure"),
                  Output("wl-daily", "figure"), Output("wl-selected", "children"),
                  Input("url", "search"))
    def charts(search):
        try:
            require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart(LEDGER), f)
            top = query(f"SELECT currency FROM {LEDGER} WHERE {where} GROUP BY 1 "
                        "ORDER BY sum(volume) DESC, 1 LIMIT 1", params).rows
            currency = f.currency or (top[0][0] if top else None)
            if currency is None:
                msg = "no ledger activity in this period"
                return [html.Div(msg, className="notice")], empty_figure(msg), \
                    empty_figure(msg), msg
            kinds = query(f"SELECT kind, sum(balance) AS total, count(*) AS accounts FROM "
                          f"{BALANCES} WHERE currency = $c GROUP BY 1 ORDER BY 2 DESC",
                          {"c": currency})
            fig_kinds = figure([bar(kinds.column("kind"),
                                    [float(money.major(v, currency))
                                     for v in kinds.column("total")], "balance",
                                    customdata=kinds.column("accounts"))],
                               f"Current balances by account kind ({currency}, click one)")
            where, params = flt.where(mart(LEDGER), replace(f, currency=currency))
            d = query("SELECT ledger_date, volume, transfer_volume FROM "
                      f"{LEDGER} WHERE {where} ORDER BY 1", params)
            days = d.column("ledger_date")
            fig_daily = figure(
                [bar(days, [float(money.major(v, currency)) for v in d.column("volume")],
                     "volume"),
                 line(days, [float(money.major(v, currency))
                             for v in d.column("transfer_volume")], "transfers")],
                f"Ledger volume per day ({currency})")
            source = "currency filter" if f.currency else "largest ledger volume in period"
            return kpis(f, currency), fig_kinds, fig_daily, f"Showing {currency} ({source})"
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return [html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg), \
                msg

    @app.callback(Output("wl-grid", "filterModel"), Input("wl-kinds", "clickData"),
                  prevent_initial_call=True)
    def drill(click):
        kind = click["points"][0]["x"] if click else None
        return {"kind": {"filterType": "text", "type": "equals", "filter": kind}} if kind else {}

    register_grid(app, "wl-grid", BALANCES, ROLES)
