"""Wallets and ledger: wallet float and held funds (current balances), reconciliation of stored
balances against the ledger, ledger volume and transfers per day against the previous period,
in one currency at a time; balances by account kind (click a kind to filter the accounts
table) and every ledger account as a drill-down grid.

Held funds are the balances of `hold` accounts. Held and blocked transfers come from
marts.fraud_holds (fraud review, multisig approval, blocked by the fraud rules): per day by
kind (click a kind to filter the transfers grid) and as a drill-down grid. Accounts and holds
are scoped by user_id: staff only open this page.
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
HOLDS = "marts.fraud_holds"
HOLD_KINDS = {"fraud_review": "held for fraud review", "approval": "held for approval",
              "blocked": "blocked"}
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
        html.H3("Held and blocked transfers"),
        html.Div(id="wl-hold-kpis", className="kpis"),
        html.Div([graph("wl-holds")], className="row"),
        html.H3("Held and blocked transfers (click a kind above to filter)"),
        grid("wl-holds-grid", HOLDS, ["decided_at", "hold_kind", "status", "amount_minor",
                                      "currency", "user_id", "to_user_id", "score",
                                      "top_rule", "age_hours", "case_id", "request_id",
                                      "reviewer_outcome", "resolved_at", "decision_id"]),
    ])


def hold_summary(f: flt.Filters) -> tuple[list, dict]:
    """KPI cards (still held now, blocked and held in the period) and the per-day figure of
    held and blocked transfers by kind, in the filtered currency or the period's largest."""
    from dashboards.components import kpi as card

    where, params = flt.where(mart(HOLDS), f)
    top = query(f"SELECT currency FROM {HOLDS} WHERE {where} GROUP BY 1 "
                "ORDER BY sum(amount_minor) DESC, 1 LIMIT 1", params).rows
    currency = f.currency or (top[0][0] if top else None)
    if currency is None:
        msg = "no held or blocked transfers in this period"
        return [html.Div(msg, className="notice")], empty_figure(msg)
    # Open holds are a current state (whatever the period); counts in the period beside them.
    now = query(f"SELECT count(*), sum(amount_minor), max(age_hours) FROM {HOLDS} "
                "WHERE is_open AND currency = $c", {"c": currency}).rows[0]
    where, params = flt.where(mart(HOLDS), replace(f, currency=currency))
    d = query(f"SELECT decision_date, hold_kind, count(*) AS n, sum(amount_minor) AS amount "
              f"FROM {HOLDS} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", params)
    m, num = money.fmt(currency), "{:,.0f}"
    per_kind = {k: sum(r[2] for r in d.rows if r[1] == k) for k in HOLD_KINDS}
    cards = [card("Transfers held now", int(now[0]), None, num),
             card("Amount held now", money.major(now[1] or 0, currency), None, m),
             card("Oldest open hold (hours)", now[2], None, "{:,.1f}"),
             card("Held for fraud review (period)", per_kind["fraud_review"], None, num),
             card("Held for approval (period)", per_kind["approval"], None, num),
             card("Blocked (period)", per_kind["blocked"], None, num)]
    traces = []
    for kind, label in HOLD_KINDS.items():
        rows = [r for r in d.rows if r[1] == kind]
        traces.append(bar([r[0] for r in rows],
                          [float(money.major(r[3], currency)) for r in rows], label,
                          customdata=[kind] * len(rows)))
    fig = figure(traces, f"Held and blocked transfers per day ({currency}, click a kind)",
                 barmode="stack")
    return cards, fig


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

    @app.callback(Output("wl-hold-kpis", "children"), Output("wl-holds", "figure"),
                  Input("url", "search"))
    def holds(search):
        try:
            require(ROLES)
            return hold_summary(flt.from_query(search))
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return [html.Div(msg, className="notice")], empty_figure(msg)

    @app.callback(Output("wl-holds-grid", "filterModel"), Input("wl-holds", "clickData"),
                  prevent_initial_call=True)
    def drill_holds(click):
        kind = click["points"][0].get("customdata") if click else None
        return {"hold_kind": {"filterType": "text", "type": "equals", "filter": kind}} \
            if kind else {}

    register_grid(app, "wl-holds-grid", HOLDS, ROLES)
