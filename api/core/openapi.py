"""OpenAPI links, derived from the routes' own structure, so a client (or a fuzzer) knows which
answer names the row the next call needs: the `id` a create or list answers feeds the
`{..._id}` path parameter of the operations on that row.

Two conventions the API follows, applied within one service:
- path: an operation on `P` (a create `POST P`, a list `GET P`) answers rows whose id is the
  path parameter of `P/{param}...` (POST /complaints/tickets -> /complaints/tickets/{ticket_id});
- name: an answer of schema `OrderOut` (or `OrderDetail`, or a page of them) feeds every
  `{order_id}` of the same service, and a field `transaction_id` feeds `{transaction_id}`.
A new route gets its links without declaring any."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI

_SCHEMA_SUFFIX = re.compile(r"(Out|Detail|Page|Item)$")
_PARAM = re.compile(r"\{([^}]+)\}")


def install_links(app: FastAPI) -> None:
    """Make `app.openapi()` answer the generated document with its links added."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = add_links(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _service(path: str) -> str:
    parts = path.strip("/").split("/")
    return "/".join(parts[:3]) if parts[:2] == ["api", "v1"] else parts[0]


def _resource(ref: str) -> str:
    """`#/components/schemas/api__goseller__schemas__OrderOut` -> "order"."""
    name = _SCHEMA_SUFFIX.sub("", ref.rsplit("/", 1)[-1].rsplit("__", 1)[-1])
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def _rows(document: dict, schema: dict | None) -> Iterator[tuple[str, str, dict]]:
    """(JSON pointer prefix, schema ref, row schema) for the rows an answer carries: the
    object itself, the first item of a list, the first item of a page's `items`."""
    if not schema:
        return
    components = document.get("components", {}).get("schemas", {})

    def resolve(node: dict) -> tuple[str | None, dict]:
        ref = node.get("$ref")
        return ref, (components.get(ref.rsplit("/", 1)[-1], {}) if ref else node)

    ref, node = resolve(schema)
    if node.get("type") == "array" or "items" in node and "properties" not in node:
        ref, node = resolve(node.get("items", {}))
        if ref:
            yield "/0", ref, node
        return
    if ref:
        yield "", ref, node
    items = node.get("properties", {}).get("items", {})
    if items.get("type") == "array":
        ref, node = resolve(items.get("items", {}))
        if ref:
            yield "/items/0", ref, node


def _path_params(operation: dict) -> set[str]:
    return {p["name"] for p in operation.get("parameters", []) if p.get("in") == "path"}


def add_links(document: dict[str, Any]) -> dict[str, Any]:
    operations = [(path, method, op) for path, ops in document.get("paths", {}).items()
                  for method, op in ops.items() if isinstance(op, dict) and "responses" in op]
    for path, method, operation in operations:
        if method not in ("get", "post", "put", "patch"):
            continue
        for status, response in operation["responses"].items():
            if not status.startswith("2"):
                continue
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            links = _links_for(document, operations, path, schema)
            if links:
                response.setdefault("links", {}).update(links)
    return document


def _links_for(document: dict, operations: list, source: str, schema: dict | None) -> dict:
    links: dict[str, dict] = {}
    for prefix, ref, row in _rows(document, schema):
        fields = row.get("properties", {})
        feeds: dict[str, str] = {}  # path parameter -> the field of the row that names it
        if "id" in fields:
            feeds[f"{_resource(ref)}_id"] = "id"
        feeds.update({name: name for name in fields if name.endswith("_id")})
        for target, method, operation in operations:
            if target == source or _service(target) != _service(source):
                continue
            params = _path_params(operation)
            # path convention: the first parameter right under the source's path is its row
            child = _PARAM.match(target[len(source) + 1:]) if target.startswith(source + "/") \
                else None
            wired = {}
            if child and "id" in fields:
                wired[child.group(1)] = "id"
            wired.update({param: feeds[param] for param in params if param in feeds})
            if not wired:
                continue
            links[operation.get("operationId") or f"{method} {target}"] = {
                "operationId": operation["operationId"],
                "parameters": {param: f"$response.body#{prefix}/{field}"
                               for param, field in wired.items()},
            }
    return links
