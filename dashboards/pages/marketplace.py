"""Marketplace (GoSeller): GMV, platform fees and refunds for the period against the previous
one, in one currency at a time (the currency filter, else the period's largest); order events
per day (placed, paid, canceled, returned); the lifetime order funnel placed -> paid ->
delivered / canceled / returned; top sellers by lifetime GMV (click one to filter the page
on that seller, as the `seller` URL filter does). A seller sees only their own rows: both
marts are scoped by seller_user_id in the warehouse, not here.
"""

from __future__ import annotations

from dataclasses import replace

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards import money
from dashboards.catalog import mart
from dashboards.components import bar, empty_figure, failure_message, figure, graph, kpi, line
from dashboards.context import query, require
from dashboards.pages._common import ANALYSTS, currency_period_sums, gate

ROLES = ANALYSTS | {"seller"}
ORDERS = "marts.fct_orders_daily"
SELLERS = "marts.seller_performance"
dash.register_page(__name__, path="/marketplace", name="Marketplace", order=25, roles=ROLES,
                   marts=[ORDERS, SELLERS])

_SUMS = ("gmv_minor", "platform_fees_minor", "refunded_minor", "orders_placed", "orders_paid",
         "orders_canceled", "orders_returned")
_FUNNEL = ("orders_placed", "orders_paid", "orders_delivered", "orders_canceled",
           "orders_returned")
TOP = 10


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Marketplace"),
        dcc.Store(id="mkt-seller"),
        html.Div(id="mkt-selected", className="notice"),
        html.Div(id="mkt-kpis", className="kpis"),
        html.Div([graph("mkt-money"), graph("mkt-orders")], className="row"),
        html.Div([graph("mkt-funnel"), graph("mkt-top-sellers")], className="row"),
    ])


def period_sums(f: flt.Filters, currency: str) -> dict[str, tuple[int, int]]:
    return currency_period_sums(ORDERS, "order_date", _SUMS, f, currency)


def kpis(f: flt.Filters, currency: str) -> list:
    s = period_sums(f, currency)
    m, num = money.fmt(currency), "{:,.0f}"

    def amount(col):
        return tuple(money.major(v, currency) for v in s[col])

    return [
        kpi("GMV (orders paid)", *amount("gmv_minor"), m),
        kpi("Platform fees", *amount("platform_fees_minor"), m),
        kpi("Refunded", *amount("refunded_minor"), m),
        kpi("Orders placed", *s["orders_placed"], num),
        kpi("Orders paid", *s["orders_paid"], num),
        kpi("Orders canceled", *s["orders_canceled"], num),
        kpi("Orders returned", *s["orders_returned"], num),
    ]


def _failure(msg: str):
    return ([html.Div(msg, className="notice")], empty_figure(msg), empty_figure(msg),
            empty_figure(msg), empty_figure(msg), msg)


def register_callbacks(app) -> None:
    @app.callback(Output("mkt-seller", "data"), Input("mkt-top-sellers", "clickData"),
                  prevent_initial_call=True)
    def pick_seller(click):
        return int(click["points"][0]["customdata"]) if click else None

    @app.callback(Output("mkt-kpis", "children"), Output("mkt-money", "figure"),
                  Output("mkt-orders", "figure"), Output("mkt-funnel", "figure"),
                  Output("mkt-top-sellers", "figure"), Output("mkt-selected", "children"),
                  Input("url", "search"), Input("mkt-seller", "data"))
    def charts(search, clicked):
        try:
            require(ROLES)
            f = flt.from_query(search)
            if f.seller is None and clicked is not None:
                f = replace(f, seller=int(clicked))
            where, params = flt.where(mart(ORDERS), f)
            per = query(f"SELECT currency, sum(gmv_minor) AS gmv FROM {ORDERS} WHERE {where} "
                        "GROUP BY 1 ORDER BY 2 DESC, 1", params)
            currencies = per.column("currency")
            if not currencies:  # also a currency filter without rows in the period
                return _failure("no marketplace orders in this period")
            currency = f.currency or currencies[0]
            where, params = flt.where(mart(ORDERS), replace(f, currency=currency))
            d = query("SELECT order_date, sum(gmv_minor) AS gmv, "
                      "sum(platform_fees_minor) AS fees, sum(refunded_minor) AS refunded, "
                      "sum(orders_placed) AS placed, sum(orders_paid) AS paid, "
                      "sum(orders_canceled) AS canceled, sum(orders_returned) AS returned "
                      f"FROM {ORDERS} WHERE {where} GROUP BY 1 ORDER BY 1", params)
            days = d.column("order_date")

            def major(col):
                return [float(money.major(v, currency)) for v in d.column(col)]
            money_fig = figure([bar(days, major("gmv"), "GMV"),
                                line(days, major("fees"), "platform fees"),
                                line(days, major("refunded"), "refunded")],
                               f"GMV, platform fees and refunds per day ({currency})")
            orders_fig = figure([line(days, d.column(c), c) for c in
                                 ("placed", "paid", "canceled", "returned")],
                                f"Order events per day ({currency})")
            # Seller marts are lifetime (no date): only the currency and seller filters apply.
            swhere, sparams = flt.where(mart(SELLERS), replace(f, currency=currency))
            funnel_row = query(f"SELECT {', '.join(f'sum({c})' for c in _FUNNEL)} "
                               f"FROM {SELLERS} WHERE {swhere}", sparams).rows[0]
            funnel = figure([bar([c.removeprefix("orders_") for c in _FUNNEL],
                                 [0 if v is None else int(v) for v in funnel_row], "orders")],
                            f"Order funnel, lifetime: placed, paid, now delivered / canceled "
                            f"/ returned ({currency})")
            top_where, top_params = flt.where(mart(SELLERS), replace(f, currency=currency,
                                                                     seller=None))
            top = query("SELECT seller_id, shop_name, gmv_minor FROM "
                        f"{SELLERS} WHERE {top_where} ORDER BY gmv_minor DESC, seller_id "
                        f"LIMIT {TOP}", top_params)
            ids = top.column("seller_id")
            colors = ["#d62728" if i == f.seller else "#1f77b4" for i in ids]
            top_fig = figure([bar(top.column("shop_name"),
                                  [float(money.major(v, currency)) for v in
                                   top.column("gmv_minor")], "GMV", customdata=ids,
                                  marker={"color": colors})],
                             f"Top sellers by lifetime GMV ({currency}, click one to filter)")
            source = "currency filter" if f.currency else "largest in period"
            note = f"Showing {currency} ({source}); amounts are never added across currencies"
            if f.seller is not None:
                note += f"; seller {f.seller}"
            return kpis(f, currency), money_fig, orders_fig, funnel, top_fig, note
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return _failure(msg)
