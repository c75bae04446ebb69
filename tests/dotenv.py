"""Settings given only in a `.env` file: a working folder holding it, the variables it sets
removed from the environment (which pydantic-settings reads first), every settings cache
cleared before and after."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

# Variables the test session sets (tests/conftest.py) or a developer may have exported.
_READ_FROM_DOTENV = ("EHB_ENV", "JWT_SECRET", "DATABASE_URL", "REDIS_URL")
_PREFIXES = ("PAYMENTS_", "FIELD_ENCRYPTION_", "DASH_", "AUTH_")

STRONG = {
    "JWT_SECRET": "j" * 48,
    "PAYMENTS_WEBHOOK_SECRET": "whsec_" + "w" * 40,
    "FIELD_ENCRYPTION_KEYS": "prod1:" + base64.urlsafe_b64encode(bytes(range(32))).decode(),
    "DASH_SECRET_KEY": "d" * 48,
}


def clear_settings_caches() -> None:
    from api.auth.settings import get_auth_settings
    from api.core.fieldcrypt import keyring
    from api.payments.settings import get_payments_settings
    from api.settings import get_settings
    from dashboards.settings import get_dash_settings

    for cached in (get_settings, get_payments_settings, keyring, get_dash_settings,
                   get_auth_settings):
        cached.cache_clear()


def write_dotenv(folder: Path, values: dict[str, str | None]) -> Path:
    lines = [f"{name}={value}" for name, value in values.items() if value is not None]
    path = folder / ".env"
    path.write_text("\n".join(lines) + "\n")
    return path


def environment_without_settings() -> dict[str, str]:
    """os.environ minus every variable a .env file is meant to provide (for subprocesses)."""
    return {k: v for k, v in os.environ.items()
            if k not in _READ_FROM_DOTENV and not k.startswith(_PREFIXES)}


@pytest.fixture
def dotenv_only(tmp_path, monkeypatch):
    """dotenv_only(values) -> the folder: a `.env` there with `values`, the current directory
    moved there and the same variables (and the session's EHB_ENV) dropped from the
    environment, so settings come from the file alone."""
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name in ("EHB_ENV", "JWT_SECRET") or name.startswith(_PREFIXES):
            monkeypatch.delenv(name)

    def _write(values: dict[str, str | None]) -> Path:
        for name in values:
            monkeypatch.delenv(name, raising=False)
        write_dotenv(tmp_path, values)
        clear_settings_caches()
        return tmp_path

    yield _write
    monkeypatch.undo()
    clear_settings_caches()
