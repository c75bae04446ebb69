"""Alembic driven from code: `ehb db ...`, `ehb up` and the test suite all migrate this way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

_INI = Path(__file__).parent / "migrations" / "alembic.ini"


def alembic_config() -> Config:
    return Config(str(_INI))


def upgrade(target: str = "heads") -> None:
    # Each service domain has its own Alembic branch, so the target is all heads.
    command.upgrade(alembic_config(), target)


def downgrade(target: str) -> None:
    command.downgrade(alembic_config(), target)


def current(verbose: bool = False) -> None:
    command.current(alembic_config(), verbose=verbose)
