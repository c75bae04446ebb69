"""Franchises page: the territory choropleth (countries by ISO alpha-3, outlines served by the
app so it works offline), clicking a country narrows the territory bars, franchisee scope."""

from __future__ import annotations

import duckdb

from dashboards.callbacks import Callbacks

SEARCH = "?start=2026-06-01&end=2026-11-25"


def _sql(snapshot_path, sql):
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_map_colours_each_country_by_its_territories_revenue(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    fig = Callbacks(client).values("fr-map.figure", {"url.search": SEARCH})["fr-map"]["figure"]
    trace = fig["data"][0]
    assert trace["type"] == "choropleth" and trace["locationmode"] == "ISO-3"
    expected = dict(_sql(snapshot_path, """
        SELECT t.country, sum(r.gross_minor) FROM marts.fct_territory_revenue_monthly r
        JOIN marts.dim_franchise_territories t USING (territory_id)
        WHERE r.revenue_month BETWEEN DATE '2026-06-01' AND DATE '2026-11-25'
        GROUP BY 1"""))
    iso3 = {"DE": "DEU", "FR": "FRA", "NL": "NLD", "ES": "ESP"}
    got = dict(zip(trace["locations"], trace["z"]))
    assert got == {iso3[c]: v / 100 for c, v in expected.items()}


def _find(component, id_):
    if getattr(component, "id", None) == id_:
        return component
    children = getattr(component, "children", None)
    for child in children if isinstance(children, list) else [children]:
        if child is not None and not isinstance(child, str):
            found = _find(child, id_)
            if found is not None:
                return found
    return None


def test_map_works_offline(signed_in, dash_app):
    import flask

    client, user = signed_in(["analyst"])
    layout = client.get("/_dash-layout").get_data(as_text=True)
    page = client.get("/franchises")
    assert page.status_code == 200
    outline = client.get("/assets/topojson/world_110m.json")
    assert outline.status_code == 200 and b'"countries"' in outline.data
    from dashboards.pages import franchises

    with dash_app.server.test_request_context("/franchises"):
        flask.session["user"] = {"uid": user.id, "roles": ["analyst"]}
        graph = _find(franchises.layout(), "fr-map")
    assert graph.config["topojsonURL"] == "/assets/topojson/"  # not plotly's CDN default
    assert "cdn.plot.ly" not in layout


def test_clicking_a_country_narrows_the_territory_bars(signed_in, snapshot_path):
    client, _ = signed_in(["analyst"])
    cb = Callbacks(client)
    country = cb.values("fr-country.data", {"fr-map.clickData": {
        "points": [{"location": "FRA", "customdata": "FR"}]}})["fr-country"]["data"]
    assert country == "FR"
    out = cb.values("fr-territories.figure", {"url.search": SEARCH, "fr-country.data": "FR"})
    bars = out["fr-territories"]["figure"]["data"][0]["x"]
    french = _sql(snapshot_path, "SELECT territory_id FROM marts.dim_franchise_territories "
                                 "WHERE country = 'FR' ORDER BY 1")
    assert sorted(bars) == sorted(f"territory {t}" for (t,) in french) and bars


def test_a_franchisee_sees_only_their_own_territories(warehouse, snapshot_path):
    from dashboards.scope import scope_for

    owner, = _sql(snapshot_path, "SELECT min(franchisee_user_id) FROM "
                                 "marts.dim_franchise_territories")[0]
    mine = _sql(snapshot_path, f"SELECT territory_id FROM marts.dim_franchise_territories "
                               f"WHERE franchisee_user_id = {owner} ORDER BY 1")
    scope = scope_for(owner, ["franchisee"])
    assert warehouse.run("SELECT territory_id FROM marts.dim_franchise_territories ORDER BY 1",
                         None, scope).rows == mine
    assert warehouse.run("SELECT count(*) FROM marts.dim_franchise_territories", None,
                         scope_for(owner, ["seller"])).rows == [(0,)]
