"""Alembic environment: the URL comes from settings, the metadata from every domain's models."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from api.db import Base
from api.registry import import_all_models
from api.settings import get_settings

import_all_models()
config = context.config


def _include_name(name, type_, parent_names) -> bool:
    # procrastinate's tables come from its own SQL (revision 0700_jobs), not from models:
    # autogenerate must not propose dropping them.
    return not (type_ == "table" and name and name.startswith("procrastinate_"))


def run_migrations_offline() -> None:
    context.configure(url=get_settings().sqlalchemy_url, target_metadata=Base.metadata,
                      literal_binds=True, compare_type=True,
                      include_name=_include_name)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(get_settings().sqlalchemy_url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
        engine.dispose()
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=Base.metadata, compare_type=True,
                      include_name=_include_name)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
