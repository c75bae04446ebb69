"""Probes: GET /health, GET /health/{service}, GET /metrics (mounted at the root), and the
admins' GET /health/details.

The public answers name what failed and nothing of why: an exception's text (a database
error echoes table and column names, statements, hosts) is only in /health/details."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from api.auth.dependencies import require
from api.core import metrics
from api.core.errors import NotFound
from api.db import new_session
from api.health.permissions import HEALTH_DETAILS
from api.registry import domains

router = APIRouter(tags=["health"])
ROOT_MOUNTED = True  # served at /health, not under /api/v1
log = logging.getLogger("ehb.health")


def _run(name: str, check) -> dict:
    started = time.perf_counter()
    try:
        with new_session() as session:
            info = check(session) or {}
        return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1), **info}
    except Exception as exc:  # a failed check is a report, not a crash
        log.warning("health check failed", extra={"check": name, "error": type(exc).__name__})
        return {"status": "fail", "error": f"{type(exc).__name__}: {exc}"[:300]}


def _public(result: dict) -> dict:
    """A check's status, and its figures when it passed: never an error text."""
    if result["status"] != "ok":
        return {"status": result["status"]}
    return {k: v for k, v in result.items()
            if k == "status" or (isinstance(v, int | float) and not isinstance(v, bool))}


def _database(session) -> dict:
    session.execute(text("SELECT 1"))
    return {}


def _checks() -> dict:
    checks = {"database": _database}
    for domain in domains():
        if domain.name != "health":
            checks[domain.name] = domain.health_check
    return checks


def _respond(results: dict, *, detailed: bool = False) -> JSONResponse:
    failed = sorted(name for name, r in results.items() if r["status"] != "ok")
    shown = results if detailed else {name: _public(r) for name, r in results.items()}
    body = {"status": "fail" if failed else "ok", "failed": failed, "checks": shown}
    return JSONResponse(body, status_code=503 if failed else 200)


@router.get("/health", summary="Database and every service's own check; 503 names what failed")
def health() -> JSONResponse:
    return _respond({name: _run(name, check) for name, check in _checks().items()})


# Declared before /health/{service}, which would otherwise take "details" for a service name.
@router.get("/health/details", summary="Every check with the error text of those that failed "
                                       "(admin)",
            dependencies=[Depends(require(HEALTH_DETAILS))])
def health_details() -> JSONResponse:
    return _respond({name: _run(name, check) for name, check in _checks().items()},
                    detailed=True)


@router.get("/health/{service}", summary="One service's check (or `database`)")
def service_health(service: Annotated[str, Path(examples=["database"])]) -> JSONResponse:
    checks = _checks()
    if service not in checks:
        raise NotFound(f"unknown service '{service}'", details={"known": sorted(checks)})
    return _respond({service: _run(service, checks[service])})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
def prometheus_metrics() -> Response:
    payload, content_type = metrics.render()
    return Response(payload, media_type=content_type)
