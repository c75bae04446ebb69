"""AI marketplace: calls, spend, tokens and latency per day and service, in one currency at a
time (the currency filter, else the period's largest). A buyer sees their own calls, a
provider the calls to their services (as revenue), staff everything, plus the reconciliation
of the calls' money to the ledger. The scope is applied by the warehouse (scope kinds `user`
and `provider` of marts.fct_ai_usage_daily), not here."""

from __future__ import annotations

from dataclasses import replace

import dash
from dash import Input, Output, html

from dashboards import filters as flt
from dashboards import money
from dashboards.catalog import mart
from dashboards.components import bar, empty_figure, failure_message, figure, graph, kpi
from dashboards.context import query, require
from dashboards.pages._common import currency_period_sums, gate
from dashboards.scope import UNRESTRICTED_ROLES

USAGE = "marts.fct_ai_usage_daily"
RECON = "marts.ai_ledger_reconciliation"
ROLES = frozenset({"analyst", "support", "customer", "seller", "affiliate", "franchisee",
                   "provider"})
dash.register_page(__name__, path="/ai", name="AI marketplace", order=27, roles=ROLES,
                   marts=[USAGE, RECON])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("AI marketplace"),
        html.Div(id="ai-selected", className="notice"),
        html.Div(id="ai-kpis", className="kpis"),
        html.Div([graph("ai-daily"), graph("ai-services")], className="row"),
        html.Div(id="ai-reconciliation"),
    ])


def _failure(msg: str):
    return ([html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg), msg,
            None)


def _reconciliation(f: flt.Filters, currency: str):
    where, params = flt.where(mart(RECON), replace(f, currency=currency))
    row = query(f"SELECT count(*), count(*) FILTER (WHERE NOT is_reconciled), "
                f"sum(ledger_debit_minor), sum(calls_charge_minor) FROM {RECON} "
                f"WHERE {where}", params).rows[0]
    days, bad, ledger_sum, calls_sum = row
    if not days:
        return html.Div("no AI postings in the ledger in this period", className="notice")
    fmt = money.fmt(currency)
    text = (f"Ledger reconciliation ({currency}): {days - bad} of {days} days reconciled; "
            f"ledger {fmt.format(money.major(ledger_sum, currency))}, calls "
            f"{fmt.format(money.major(calls_sum, currency))}")
    return html.Div(text, id="ai-recon-text", className="notice" if not bad else "notice bad")


def register_callbacks(app) -> None:
    @app.callback(Output("ai-kpis", "children"), Output("ai-daily", "figure"),
                  Output("ai-services", "figure"), Output("ai-selected", "children"),
                  Output("ai-reconciliation", "children"), Input("url", "search"))
    def charts(search):
        try:
            ident = require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart(USAGE), f)
            per = query(f"SELECT currency, sum(charge_minor) FROM {USAGE} WHERE {where} "
                        "GROUP BY 1 ORDER BY 2 DESC, 1", params)
            currencies = [r[0] for r in per.rows]
            if not currencies:
                return _failure("no AI calls in this period")
            currency = f.currency or currencies[0]
            staff = bool(UNRESTRICTED_ROLES & set(ident.roles)) or "admin" in ident.roles
            is_provider = "provider" in ident.roles and not staff
            sums = currency_period_sums(USAGE, "usage_date",
                                        ("calls", "succeeded", "tokens", "charge_minor",
                                         "provider_minor", "fee_minor"), f, currency)
            m = money.fmt(currency)
            cards = [kpi("Calls", *sums["calls"]), kpi("Succeeded", *sums["succeeded"]),
                     kpi("Tokens", *sums["tokens"]),
                     kpi("Spend" if not is_provider else "Billed to buyers",
                         *(money.major(v, currency) for v in sums["charge_minor"]), m)]
            if is_provider or staff:
                cards.append(kpi("Provider revenue",
                                 *(money.major(v, currency) for v in sums["provider_minor"]), m))
            if staff:
                cards.append(kpi("Platform fees",
                                 *(money.major(v, currency) for v in sums["fee_minor"]), m))
            where, params = flt.where(mart(USAGE), replace(f, currency=currency))
            daily = query(f"SELECT usage_date, service_slug, sum(calls), sum(charge_minor) "
                          f"FROM {USAGE} WHERE {where} GROUP BY 1, 2 ORDER BY 1, 2", params)
            services = sorted({r[1] for r in daily.rows})
            traces = [bar([r[0] for r in daily.rows if r[1] == s],
                          [int(r[2]) for r in daily.rows if r[1] == s], s) for s in services]
            daily_fig = figure(traces, "Calls per day by service", barmode="stack")
            per_service = query(
                f"SELECT service_slug, sum(charge_minor), avg(avg_latency_ms) FROM {USAGE} "
                f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1", params)
            service_fig = figure([bar([r[0] for r in per_service.rows],
                                      [float(money.major(r[1], currency))
                                       for r in per_service.rows], f"charge ({currency})")],
                                 f"Charge per service ({currency})")
            recon = _reconciliation(f, currency) if staff else None
            source = "currency filter" if f.currency else "largest in period"
            whose = ("all calls" if staff else "calls to your services and your own calls"
                     if is_provider else "your calls")
            note = f"Showing {currency} ({source}), {whose}"
            return cards, daily_fig, service_fig, note, recon
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return _failure(msg)
