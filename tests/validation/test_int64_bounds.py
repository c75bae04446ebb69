"""Every integer a request can carry is bounded to int64 (PostgreSQL bigint) in the schema, so
2**63 anywhere is a 422 naming the field, never a database error: checked on the whole
OpenAPI document (every operation's parameters and request body), so a new route with a bare
`int` fails here."""

from __future__ import annotations

from api.validation import INT64_MAX, INT64_MIN


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[-1]
        node = document["components"]["schemas"][name]
    return node


def unbounded_integers(document: dict, node, where: str, seen: frozenset = frozenset()):
    """Paths (inside `where`) of integer schemas without int64-tight bounds."""
    if not isinstance(node, dict):
        return
    if "$ref" in node:
        if node["$ref"] in seen:
            return
        seen = seen | {node["$ref"]}
        node = _resolve(document, node)
    types = node.get("type")
    if types == "integer" or (isinstance(types, list) and "integer" in types):
        low = node.get("minimum", node.get("exclusiveMinimum"))
        high = node.get("maximum", node.get("exclusiveMaximum"))
        # FastAPI renders bounds through floats (2**63 - 1 appears as 9.223372036854776e18):
        # compare at that precision; the validators themselves hold the exact bound.
        if low is None or high is None or float(low) < float(INT64_MIN) \
                or float(high) > float(INT64_MAX):
            yield where
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(node.get(key, [])):
            yield from unbounded_integers(document, sub, f"{where}.{key}[{i}]", seen)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(node.get(key), dict):
            yield from unbounded_integers(document, node[key], f"{where}.{key}", seen)
    for name, sub in node.get("properties", {}).items():
        yield from unbounded_integers(document, sub, f"{where}.{name}", seen)


def request_integers(document: dict):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            label = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                yield from unbounded_integers(document, parameter.get("schema", {}),
                                              f"{label} {parameter['in']} {parameter['name']}")
            content = operation.get("requestBody", {}).get("content", {})
            for media_type, body in content.items():
                yield from unbounded_integers(document, body.get("schema", {}),
                                              f"{label} body({media_type})")


def test_every_request_integer_is_bounded_to_int64(app):
    assert sorted(set(request_integers(app.openapi()))) == []


def test_the_check_sees_an_unbounded_integer():
    document = {"paths": {"/x/{n}": {"post": {
        "parameters": [{"name": "n", "in": "path", "schema": {"type": "integer"}}],
        "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/B"}}}}}}},
        "components": {"schemas": {"B": {"properties": {
            "ok": {"type": "integer", "minimum": 1, "maximum": INT64_MAX},
            "big": {"type": "integer", "minimum": 0, "maximum": 2**64},
            "ids": {"type": "array", "items": {"anyOf": [{"type": "integer"}, {"type": "null"}]}}}}}}}
    assert sorted(request_integers(document)) == [
        "POST /x/{n} body(application/json).big",
        "POST /x/{n} body(application/json).ids.items.anyOf[0]",
        "POST /x/{n} path n",
    ]
