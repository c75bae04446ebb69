"""Service domains are discovered, not listed: any `api/<domain>/router.py` exposing `router`
joins the gateway under /api/v1, its models join Alembic's metadata, and its health check
joins /health. Adding a service touches no shared file."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from types import ModuleType

from fastapi import APIRouter
from sqlalchemy import text
from sqlalchemy.orm import Session

import api

_API_DIR = Path(api.__file__).parent
_NOT_DOMAINS = {"core", "migrations"}

HealthCheck = Callable[[Session], dict | None]


@dataclass(frozen=True)
class Domain:
    name: str
    package: str
    router: APIRouter
    health_check: HealthCheck
    root_mounted: bool  # served at the root (/health) instead of under /api/v1


def _domain_packages() -> list[str]:
    return sorted(
        m.name for m in pkgutil.iter_modules([str(_API_DIR)])
        if m.ispkg and m.name not in _NOT_DOMAINS and (_API_DIR / m.name / "router.py").exists()
    )


def import_all_models() -> None:
    """Import every domain's models so Base.metadata knows all tables (Alembic, tests)."""
    importlib.import_module("api.core.models")
    for name in _domain_packages():
        if (_API_DIR / name / "models.py").exists():
            importlib.import_module(f"api.{name}.models")


def _tables_check(models: ModuleType | None) -> HealthCheck:
    """Default check: each of the domain's tables answers a query (schema migrated, reachable)."""
    from api.db import Base

    tables = sorted({
        obj.__table__.name for obj in vars(models).values()
        if isinstance(obj, type) and issubclass(obj, Base) and hasattr(obj, "__table__")
        and obj.__module__ == models.__name__
    }) if models else []

    def check(session: Session) -> dict:
        for table in tables:
            session.execute(text(f'SELECT 1 FROM "{table}" LIMIT 1'))
        return {"tables": len(tables)}

    return check


@lru_cache
def domains() -> tuple[Domain, ...]:
    found = []
    for name in _domain_packages():
        router_mod = importlib.import_module(f"api.{name}.router")
        models = (importlib.import_module(f"api.{name}.models")
                  if (_API_DIR / name / "models.py").exists() else None)
        check = getattr(router_mod, "health_check", None) or _tables_check(models)
        found.append(Domain(name, f"api.{name}", router_mod.router, check,
                            getattr(router_mod, "ROOT_MOUNTED", False)))
    return tuple(found)
