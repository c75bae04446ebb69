"""The OpenAPI document's links (api.core.openapi): each names an existing operation and only
its path parameters, the conventions wire the rows they should, and following one for real
reaches the row the first answer named."""

from __future__ import annotations

import re

from api.core.openapi import add_links


def _operations(document):
    return {op["operationId"]: (method, path, op) for path, ops in document["paths"].items()
            for method, op in ops.items()}


def _links(document, method: str, path: str, status: str) -> dict:
    return document["paths"][path][method]["responses"][status].get("links", {})


def _targets(document, method, path, status) -> dict[str, dict]:
    ops = _operations(document)
    return {f"{ops[link['operationId']][0].upper()} {ops[link['operationId']][1]}":
            link["parameters"] for link in _links(document, method, path, status).values()}


def test_every_link_names_an_operation_and_its_path_parameters(app):
    document = app.openapi()
    ops = _operations(document)
    count = 0
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            for response in op["responses"].values():
                for link in response.get("links", {}).values():
                    count += 1
                    target = ops[link["operationId"]][2]
                    names = {p["name"] for p in target.get("parameters", []) if p["in"] == "path"}
                    assert set(link["parameters"]) <= names, (method, path, link)
                    for expression in link["parameters"].values():
                        assert re.fullmatch(r"\$response\.body#(/items)?(/0)?/\w+", expression)
    assert count > 100


def test_conventions_wire_creates_lists_and_named_fields(app):
    document = app.openapi()
    tickets = "/api/v1/complaints/tickets"
    created = _targets(document, "post", tickets, "201")
    assert created[f"GET {tickets}/{{ticket_id}}"] == {"ticket_id": "$response.body#/id"}
    assert created[f"POST {tickets}/{{ticket_id}}/replies"] == {"ticket_id": "$response.body#/id"}
    listed = _targets(document, "get", tickets, "200")
    assert listed[f"GET {tickets}/{{ticket_id}}"] == {"ticket_id": "$response.body#/0/id"}
    # A page's rows, and a field named after the parameter.
    history = _targets(document, "get", "/api/v1/wallets/transactions", "200")
    assert history["GET /api/v1/wallets/transactions/{transaction_id}"] == {
        "transaction_id": "$response.body#/items/0/transaction_id"}
    # The cart answers an order: every {order_id} of the service, buyer's and seller's.
    cart = _targets(document, "put", "/api/v1/goseller/cart/items", "200")
    assert {"POST /api/v1/goseller/orders/{order_id}/place",
            "POST /api/v1/goseller/seller/orders/{order_id}/fulfill"} <= set(cart)
    # Never across services: a ticket's order_id is not GoSeller's order.
    assert not [t for t in created if "/goseller/" in t]


def test_add_links_on_a_minimal_document():
    document = {
        "paths": {
            "/api/v1/shop/widgets": {"post": {"operationId": "create", "responses": {
                "201": {"content": {"application/json": {
                    "schema": {"$ref": "#/components/schemas/WidgetOut"}}}}}}},
            "/api/v1/shop/widgets/{widget_id}": {"get": {"operationId": "read", "parameters": [
                {"name": "widget_id", "in": "path"}], "responses": {"200": {}}}},
            "/api/v1/other/widgets/{widget_id}": {"get": {"operationId": "elsewhere",
                                                          "parameters": [{"name": "widget_id",
                                                                          "in": "path"}],
                                                          "responses": {"200": {}}}}},
        "components": {"schemas": {"WidgetOut": {"properties": {"id": {"type": "integer"}}}}}}
    links = add_links(document)["paths"]["/api/v1/shop/widgets"]["post"]["responses"]["201"]
    assert links["links"] == {"read": {"operationId": "read",
                                       "parameters": {"widget_id": "$response.body#/id"}}}


def test_following_a_link_reaches_the_row_it_named(client, make_user, auth_headers):
    document = client.get("/openapi.json").json()
    customer, _ = make_user()
    headers = auth_headers(customer)
    r = client.post("/api/v1/complaints/tickets", headers=headers, json={
        "subject": "Parcel missing", "body": "It never came.", "category": "delivery"})
    assert r.status_code == 201, r.text
    link = next(link for link in _links(document, "post", "/api/v1/complaints/tickets",
                                         "201").values()
                if _operations(document)[link["operationId"]][:2]
                == ("get", "/api/v1/complaints/tickets/{ticket_id}"))
    pointer = link["parameters"]["ticket_id"].split("#", 1)[1]
    value = r.json()
    for part in pointer.strip("/").split("/"):
        value = value[int(part)] if isinstance(value, list) else value[part]
    got = client.get(f"/api/v1/complaints/tickets/{value}", headers=headers)
    assert got.status_code == 200 and got.json()["id"] == r.json()["id"]
