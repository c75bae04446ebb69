"""The SQL gate: a report's or a dashboard's query is one SELECT over contract marts and its own
CTEs, nothing else (no catalog, no table functions, no SHOW / DESCRIBE / SUMMARIZE).

The query is parsed by DuckDB itself (`json_serialize_sql`), the engine that will run it, so
the gate and the engine read the same tree. Names are resolved the way DuckDB's binder
resolves them: an unqualified name is a CTE only where that CTE is in scope, i.e. in the body
of the query that defines it, in CTEs defined after it in the same WITH, and in subqueries of
those; a CTE's own body does not see itself, except in the recursive term of
`WITH RECURSIVE ... UNION`. Anywhere else the same name is a catalog object, so
`WITH x AS (WITH duckdb_databases AS (...) ...) SELECT * FROM duckdb_databases` reads the
catalog and is refused. Anything the gate does not know is refused.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import duckdb

from dashboards.catalog import MARTS


class QueryRejected(ValueError):
    """The SQL is not a single SELECT over contract marts."""


# Node kinds of DuckDB's parse tree a query may contain; any other kind is refused.
_QUERY_NODES = {"SELECT_NODE", "SET_OPERATION_NODE", "RECURSIVE_CTE_NODE"}
_ANY_QUERY_NODE = _QUERY_NODES | {"CTE_NODE", "BOUND_SUBQUERY_NODE", "STATEMENT_NODE",
                                  "INSERT_QUERY_NODE", "UPDATE_QUERY_NODE",
                                  "DELETE_QUERY_NODE"}
_TABLE_REFS = {"BASE_TABLE", "SUBQUERY", "JOIN", "EXPRESSION_LIST", "EMPTY", "PIVOT"}
_ANY_TABLE_REF = _TABLE_REFS | {"TABLE_FUNCTION", "SHOW_REF", "COLUMN_DATA", "DELIM_GET",
                                "BOUND_TABLE_REF", "CTE", "INVALID"}
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_checker = duckdb.connect(":memory:")
_checker_lock = threading.Lock()


def _fold(name: str) -> str:
    # DuckDB matches identifiers ignoring ASCII case only ("Ä" is not "ä", the Kelvin sign is
    # not "k"); a wider folding would take a catalog name for a CTE.
    return name.translate(_ASCII_LOWER)


@dataclass
class _Reads:
    tables: list[tuple[str, str, str]] = field(default_factory=list)  # not CTEs
    functions: list[str] = field(default_factory=list)
    params: set[str] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)


def _is_query_node(node: dict) -> bool:
    return "class" not in node and ("cte_map" in node or node.get("type") in _ANY_QUERY_NODE)


def _is_table_ref(node: dict) -> bool:
    return "class" not in node and node.get("type") in _ANY_TABLE_REF


def _walk(node: Any, ctes: frozenset[str], reads: _Reads) -> None:
    """Every node below `node`, with `ctes` the CTE names in scope there."""
    if isinstance(node, list):
        for value in node:
            _walk(value, ctes, reads)
        return
    if not isinstance(node, dict):
        return
    if _is_query_node(node):
        _query_node(node, ctes, reads)
        return
    if _is_table_ref(node):
        _table_ref(node, ctes, reads)
        return
    if node.get("class") == "PARAMETER":
        reads.params.add(str(node.get("identifier", "")))
    for value in node.values():
        _walk(value, ctes, reads)


def _query_node(node: dict, ctes: frozenset[str], reads: _Reads,
                recursive_name: str | None = None) -> None:
    kind = node.get("type")
    if kind not in _QUERY_NODES:
        reads.refused.append(f"{kind} is not allowed")
        return
    scope = ctes
    for entry in (node.get("cte_map") or {}).get("map", []):
        name = _fold(str(entry.get("key", "")))
        info = entry.get("value") or {}
        body = info.get("query_node")
        if not isinstance(body, dict) or not _is_query_node(body):
            reads.refused.append(f"CTE {name!r} has no query")
            continue
        # The CTE's body sees the enclosing scope and the CTEs before it, not itself.
        _query_node(body, scope, reads, recursive_name=name)
        _walk({k: v for k, v in info.items() if k != "query_node"}, scope, reads)
        scope = scope | {name}
    for key, value in node.items():
        if key == "cte_map":
            continue
        if kind == "RECURSIVE_CTE_NODE" and key == "right":
            # The recursive term sees the CTE being defined; the anchor ("left") does not.
            own = _fold(str(node.get("cte_name", "")))
            _walk(value, scope | {own} if own == recursive_name else scope, reads)
            continue
        _walk(value, scope, reads)


def _table_ref(ref: dict, ctes: frozenset[str], reads: _Reads) -> None:
    kind = ref.get("type")
    if kind == "BASE_TABLE":
        catalog, schema = ref.get("catalog_name", ""), ref.get("schema_name", "")
        table = ref.get("table_name", "")
        path = (ref.get("qualified_name") or {}).get("path") or [table]
        if catalog or schema or len(path) != 1 or _fold(table) not in ctes:
            reads.tables.append((catalog, schema, table))
    elif kind == "TABLE_FUNCTION":
        reads.functions.append(str((ref.get("function") or {}).get("function_name", "?")))
    elif kind == "SHOW_REF":
        reads.refused.append("SHOW, DESCRIBE and SUMMARIZE are not allowed")
    elif kind not in _TABLE_REFS:
        reads.refused.append(f"{kind} is not allowed")
    for value in ref.values():
        _walk(value, ctes, reads)


def _parse(sql: str) -> dict:
    with _checker_lock:
        try:
            tree = json.loads(_checker.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()[0])
        except duckdb.Error as exc:
            raise QueryRejected(f"cannot parse SQL: {exc}") from None
    if tree.get("error"):
        message = tree.get("error_message", "")
        if "Only SELECT" in message:
            raise QueryRejected("only a single SELECT is allowed")
        raise QueryRejected(f"cannot parse SQL: {message}")
    if len(tree.get("statements", [])) != 1:
        raise QueryRejected("exactly one SELECT statement is allowed")
    return tree


def analyze(sql: str) -> tuple[set[str], set[str]]:
    """(marts read, named parameters used) of a single SELECT over contract marts."""
    reads = _Reads()
    _walk(_parse(sql)["statements"], frozenset(), reads)
    if reads.refused:
        raise QueryRejected(reads.refused[0])
    if reads.functions:
        raise QueryRejected("table functions are not allowed: "
                            f"{', '.join(sorted(set(reads.functions)))}")
    found = set()
    for catalog, schema, table in reads.tables:
        if catalog:
            raise QueryRejected(f"catalog-qualified names are not allowed: {catalog}.{schema}.{table}")
        name = f"{schema}.{table}"
        if name not in MARTS:
            raise QueryRejected(f"unknown table {name if schema else table!r}: use the marts of "
                                f"the contract (or a CTE defined where it is used), e.g. "
                                f"{next(iter(MARTS))}")
        found.add(name)
    return found, reads.params


def referenced_marts(sql: str) -> set[str]:
    """Parse `sql` and return the marts it reads; raise QueryRejected for anything else."""
    return analyze(sql)[0]
