"""SQLAlchemy 2 engine, sessions and the declarative base shared by every service domain."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache

from sqlalchemy import BigInteger, DateTime, Engine, MetaData, create_engine, event, exc, func
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from api.settings import get_settings

# Stable constraint names so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {int: BigInteger, datetime: DateTime(timezone=True)}


class TimestampMixin:
    """created_at/updated_at set by PostgreSQL; a trigger (see migrations.helpers) keeps
    updated_at true even for writes that bypass the ORM, which incremental ingestion relies on."""

    created_at: Mapped[datetime] = mapped_column(server_default=func.now(), nullable=False)
    updated_at: Mapped[datetime] = mapped_column(
        server_default=func.now(), onupdate=func.now(), nullable=False, index=True
    )


# A pooled connection idle for longer than this is pinged before use (a restarted or
# failed-over server leaves dead connections in the pool). A connection returned moments ago
# is not: pinging every checkout cost a round trip per request on the hot path.
PING_IF_IDLE_SECONDS = 2.0


def _install_idle_ping(engine: Engine) -> None:
    @event.listens_for(engine, "checkin")
    def _checked_in(dbapi_connection, record) -> None:
        record.info["checked_in_at"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _checked_out(dbapi_connection, record, proxy) -> None:
        idle_since = record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < PING_IF_IDLE_SECONDS:
            return
        if not engine.dialect._do_ping_w_event(dbapi_connection):
            # The pool discards this connection and checks out (or opens) another one.
            raise exc.DisconnectionError("pooled connection is dead")


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    engine = create_engine(
        settings.sqlalchemy_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
    )
    _install_idle_ping(engine)
    return engine


@lru_cache
def _session_factory() -> sessionmaker[Session]:
    return sessionmaker(bind=get_engine(), expire_on_commit=False)


def new_session() -> Session:
    return _session_factory()()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction: commit on success, roll back on any error (CLI, jobs, simulator)."""
    with new_session() as session:
        with session.begin():
            yield session


def reset_engine() -> None:
    """Drop cached settings/engine (tests point DATABASE_URL at their own database)."""
    if get_engine.cache_info().currsize:
        get_engine().dispose()
    get_engine.cache_clear()
    _session_factory.cache_clear()
    get_settings.cache_clear()
