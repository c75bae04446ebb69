"""Franchises: revenue of the territories per month (gross, net, franchise share) in one
currency at a time (the currency filter, else the period's largest), per territory, and the
monthly settlements (statements) with their status. The `territory` URL filter narrows the
revenue mart. A franchisee sees only their own rows: both marts are scoped by
franchisee_user_id in the warehouse, not here. Months are selected by their first day.

The territory map colours each country holding territories by their gross revenue in the
period (Plotly's built-in geo matched by ISO alpha-3; outlines served from our assets, so it
works offline). Clicking a country narrows the territory bars to it.
"""

from __future__ import annotations

from dataclasses import replace

import dash
from dash import Input, Output, dcc, html

from dashboards import filters as flt
from dashboards import money
from dashboards.catalog import mart
from dashboards.components import bar, empty_figure, failure_message, figure, graph, line
from dashboards.context import query, require
from dashboards.geo import TOPOJSON_URL, alpha3
from dashboards.pages._common import ANALYSTS, gate

ROLES = ANALYSTS | {"franchisee"}
REVENUE = "marts.fct_territory_revenue_monthly"
SETTLEMENTS = "marts.franchise_settlements"
TERRITORIES = "marts.dim_franchise_territories"
dash.register_page(__name__, path="/franchises", name="Franchises", order=27, roles=ROLES,
                   marts=[REVENUE, SETTLEMENTS])


def layout(**_query):
    return gate(ROLES) or html.Div([
        html.H2("Franchises"),
        html.Div(id="fr-selected", className="notice"),
        dcc.Store(id="fr-country"),
        html.Div([dcc.Graph(id="fr-map", className="chart",
                            config={"displaylogo": False, "topojsonURL": TOPOJSON_URL})],
                 className="row"),
        html.Div([graph("fr-monthly"), graph("fr-territories")], className="row"),
        html.Div([graph("fr-settlements")], className="row"),
    ])


def _failure(msg: str):
    return empty_figure(msg), empty_figure(msg), empty_figure(msg), msg


def territory_map(f: flt.Filters, currency: str, major) -> dict:
    """Countries holding territories, coloured by gross revenue in the period and currency."""
    where, params = flt.where(mart(REVENUE), replace(f, currency=currency))
    twhere, tparams = flt.where(mart(TERRITORIES), f, prefix="t")
    rows = query(
        f"WITH rev AS (SELECT territory_id, sum(gross_minor) AS gross, sum(orders) AS orders "
        f"FROM {REVENUE} WHERE {where} GROUP BY 1) "
        "SELECT t.country, count(*) AS territories, coalesce(sum(rev.gross), 0) AS gross, "
        f"coalesce(sum(rev.orders), 0) AS orders FROM {TERRITORIES} t "
        f"LEFT JOIN rev USING (territory_id) WHERE {twhere} GROUP BY 1 ORDER BY 1",
        {**params, **tparams}).rows
    mapped = [(alpha3(r[0]), r) for r in rows if alpha3(r[0])]
    if not mapped:
        return empty_figure("no territories with a known country")
    gross = major([r[2] for _, r in mapped])
    trace = {"type": "choropleth", "locationmode": "ISO-3",
             "locations": [code for code, _ in mapped], "z": gross,
             "customdata": [r[0] for _, r in mapped],
             "text": [f"{r[0]}: {r[1]} territories, {int(r[3])} orders" for _, r in mapped],
             "colorscale": "Blues", "colorbar": {"title": {"text": currency}},
             "hovertemplate": "%{text}<br>gross %{z:,.2f}<extra></extra>"}
    layout = {"geo": {"fitbounds": "locations", "showcountries": True,
                      "showframe": False, "projection": {"type": "natural earth"}},
              "height": 380}
    return figure([trace], f"Territory revenue by country ({currency}, click a country)",
                  **layout)


def register_callbacks(app) -> None:
    @app.callback(Output("fr-country", "data"), Input("fr-map", "clickData"),
                  prevent_initial_call=True)
    def pick_country(click):
        return click["points"][0].get("customdata") if click else None

    @app.callback(Output("fr-map", "figure"), Input("url", "search"))
    def country_map(search):
        try:
            require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart(REVENUE), f)
            per = query(f"SELECT currency FROM {REVENUE} WHERE {where} GROUP BY 1 "
                        "ORDER BY sum(gross_minor) DESC, 1 LIMIT 1", params).rows
            currency = f.currency or (per[0][0] if per else None)
            if currency is None:
                return empty_figure("no territory revenue in this period")
            return territory_map(f, currency,
                                 lambda vs: [float(money.major(v, currency)) for v in vs])
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return empty_figure(msg)

    @app.callback(Output("fr-monthly", "figure"), Output("fr-territories", "figure"),
                  Output("fr-settlements", "figure"), Output("fr-selected", "children"),
                  Input("url", "search"), Input("fr-country", "data"))
    def charts(search, country=None):
        try:
            require(ROLES)
            f = flt.from_query(search)
            where, params = flt.where(mart(REVENUE), f)
            per = query(f"SELECT currency, sum(gross_minor) AS g FROM {REVENUE} "
                        f"WHERE {where} GROUP BY 1 ORDER BY 2 DESC, 1", params)
            currencies = per.column("currency")
            if not currencies:  # also a currency filter without rows in the period
                return _failure("no territory revenue in this period")
            currency = f.currency or currencies[0]

            def major(values):
                return [float(money.major(v, currency)) for v in values]
            where, params = flt.where(mart(REVENUE), replace(f, currency=currency))
            mo = query("SELECT revenue_month, sum(gross_minor) AS gross, sum(net_minor) AS net, "
                       f"sum(share_minor) AS share FROM {REVENUE} WHERE {where} "
                       "GROUP BY 1 ORDER BY 1", params)
            months = mo.column("revenue_month")
            monthly = figure([bar(months, major(mo.column("gross")), "gross"),
                              bar(months, major(mo.column("net")), "net"),
                              line(months, major(mo.column("share")), "franchise share")],
                             f"Territory revenue per month ({currency})", barmode="group")
            in_country = ""
            if country:
                in_country = (f" AND territory_id IN (SELECT territory_id FROM {TERRITORIES} "
                              "WHERE country = $country)")
                params = {**params, "country": country}
            te = query("SELECT territory_id, sum(gross_minor) AS gross, sum(orders) AS orders "
                       f"FROM {REVENUE} WHERE {where}{in_country} GROUP BY 1 ORDER BY 2 DESC, 1",
                       params)
            territories = figure([bar([f"territory {t}" for t in te.column("territory_id")],
                                      major(te.column("gross")), "gross")],
                                 f"Gross revenue per territory ({currency}"
                                 + (f", {country})" if country else ")"))
            swhere, sparams = flt.where(mart(SETTLEMENTS), replace(f, currency=currency))
            se = query("SELECT period_start, status, sum(share_minor) AS share "
                       f"FROM {SETTLEMENTS} WHERE {swhere} GROUP BY 1, 2 ORDER BY 1, 2",
                       sparams)
            traces = []
            for status in ("posted", "awaiting_ledger"):
                pts = [(p, v) for p, s, v in se.rows if s == status]
                traces.append(bar([p[0] for p in pts], major([p[1] for p in pts]), status))
            settlements = figure(traces, f"Settled franchise share per month ({currency})",
                                 barmode="stack")
            source = "currency filter" if f.currency else "largest in period"
            note = f"Showing {currency} ({source}); amounts are never added across currencies"
            return monthly, territories, settlements, note
        except Exception as exc:
            msg = failure_message(exc)
            if msg is None:
                raise
            return _failure(msg)
