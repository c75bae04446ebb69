"""Report definitions and runs. Definitions are checked when saved (one SELECT over contract
marts, every named parameter declared); runs bind parameters, never format them into SQL, and
execute through the dashboards' query layer with the caller's row-level scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.auth.dependencies import Principal
from api.core.errors import AppError, Conflict, NotFound, Unprocessable
from api.reports.models import ReportDefinition
from api.reports.schemas import NAME, DefinitionIn
from dashboards.scope import Scope, scope_for
import duckdb

from dashboards.warehouse import (Pending, QueryRejected, Result, SnapshotMissing, analyze,
                                  default_warehouse)


def scope_of(principal: Principal) -> Scope:
    return scope_for(principal.user_id, principal.roles)


def check_definition(body: DefinitionIn) -> None:
    try:
        _, used = analyze(body.sql)
    except QueryRejected as exc:
        raise Unprocessable(f"sql: {exc}", code="invalid_report_sql") from None
    except duckdb.Error as exc:
        # The definition no longer fits the marts (e.g. a column the contract dropped).
        raise Unprocessable(f"the report cannot run on the current snapshot: {exc}",
                            code="report_failed") from None
    bad = sorted(p for p in used if not NAME.match(p))
    if bad:
        raise Unprocessable("sql: use named parameters ($name), not positional ones",
                            code="invalid_report_sql", details={"parameters": bad})
    undeclared = sorted(used - set(body.parameters))
    if undeclared:
        raise Unprocessable(f"sql uses undeclared parameters: {', '.join(undeclared)}",
                            code="undeclared_parameters")
    unused = sorted(set(body.parameters) - used)
    if unused:
        raise Unprocessable(f"declared parameters the sql does not use: {', '.join(unused)}",
                            code="unused_parameters")
    for name, value in body.default_filters.items():
        coerce(name, body.parameters[name].type, value)


def coerce(name: str, kind: str, value: Any) -> Any:
    try:
        if kind == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if kind == "int":
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if kind == "float":
            return float(value)
        text = str(value)
        if len(text) > 1000:
            raise ValueError
        return text
    except (TypeError, ValueError):
        raise Unprocessable(f"parameter {name!r} must be a {kind}", code="invalid_parameter",
                            details={"parameter": name, "type": kind}) from None


def bind(defn: ReportDefinition, given: dict[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(given) - set(defn.parameters))
    if unknown:
        raise Unprocessable(f"unknown parameter(s): {', '.join(unknown)}",
                            code="unknown_parameter", details={"known": sorted(defn.parameters)})
    bound = {}
    for name, spec in defn.parameters.items():
        value = given.get(name, defn.default_filters.get(name))
        if value in (None, ""):
            if spec.get("required"):
                raise Unprocessable(f"parameter {name!r} is required", code="missing_parameter")
            bound[name] = None
            continue
        bound[name] = coerce(name, spec["type"], value)
    return bound


def list_definitions(session: Session) -> list[ReportDefinition]:
    return list(session.scalars(select(ReportDefinition).order_by(ReportDefinition.name)))


def get_definition(session: Session, definition_id: int) -> ReportDefinition:
    defn = session.get(ReportDefinition, definition_id)
    if defn is None:
        raise NotFound(f"report {definition_id} not found", code="report_not_found")
    return defn


def _apply(defn: ReportDefinition, body: DefinitionIn) -> None:
    check_definition(body)
    defn.name, defn.description, defn.sql = body.name, body.description, body.sql
    defn.parameters = {k: v.model_dump() for k, v in body.parameters.items()}
    defn.default_filters = {k: coerce(k, body.parameters[k].type, v).isoformat()
                            if body.parameters[k].type == "date" else v
                            for k, v in body.default_filters.items()}
    defn.chart = body.chart.model_dump() if body.chart else None


def _commit(session: Session, name: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a report named {name!r} already exists", code="report_name_taken") from None


def create_definition(session: Session, principal: Principal, body: DefinitionIn) -> ReportDefinition:
    defn = ReportDefinition(owner_id=principal.user_id)
    _apply(defn, body)
    session.add(defn)
    _commit(session, body.name)
    return defn


def update_definition(session: Session, definition_id: int, body: DefinitionIn) -> ReportDefinition:
    defn = get_definition(session, definition_id)
    _apply(defn, body)
    _commit(session, body.name)
    session.refresh(defn)
    return defn


def delete_definition(session: Session, definition_id: int) -> None:
    session.delete(get_definition(session, definition_id))
    session.commit()


def execute(defn: ReportDefinition, params: dict[str, Any], scope: Scope) -> Pending:
    """The report's query for this scope, bound and ready to stream (the caller closes it)."""
    try:
        return default_warehouse().pending(defn.sql, params, scope)
    except SnapshotMissing as exc:
        raise AppError(str(exc), code="warehouse_unavailable", status_code=503) from None
    except QueryRejected as exc:
        raise Unprocessable(f"sql: {exc}", code="invalid_report_sql") from None
    except duckdb.Error as exc:
        # The definition no longer fits the marts (e.g. a column the contract dropped).
        raise Unprocessable(f"the report cannot run on the current snapshot: {exc}",
                            code="report_failed") from None


def run(defn: ReportDefinition, given: dict[str, Any], scope: Scope, limit: int) -> tuple[Result, bool, dict]:
    params = bind(defn, given)
    query = execute(defn, params, scope)
    try:
        columns = query.columns
        rows = query.head(limit + 1)
    except duckdb.Error as exc:
        raise Unprocessable(f"the report failed: {exc}", code="report_failed") from None
    finally:
        query.close()
    return Result(columns, rows[:limit]), len(rows) > limit, params
