"""Every setting goes through pydantic-settings (environment, then `.env`), and with
EHB_ENV=production, wherever it is set, the platform refuses to start on any development
secret or key. Before, payments decided "production" from os.environ alone: with production
set in `.env` the public development webhook secret stayed in force."""

from __future__ import annotations

import base64
import subprocess
import sys

import pytest

from tests.dotenv import STRONG, dotenv_only, environment_without_settings, write_dotenv  # noqa: F401


def _dev_key_under(key_id: str) -> str:
    from api.core.fieldcrypt import _DEV_KEY

    return f"{key_id}:{base64.urlsafe_b64encode(_DEV_KEY).decode()}"


def _weak_values():
    from api.payments.settings import DEV_WEBHOOK_SECRET
    from api.settings import DEFAULT_JWT_SECRET

    return [
        ("JWT_SECRET", None), ("JWT_SECRET", DEFAULT_JWT_SECRET),
        ("PAYMENTS_WEBHOOK_SECRET", None), ("PAYMENTS_WEBHOOK_SECRET", DEV_WEBHOOK_SECRET),
        ("FIELD_ENCRYPTION_KEYS", None),
        ("FIELD_ENCRYPTION_KEYS", _dev_key_under("renamed") + "," + STRONG["FIELD_ENCRYPTION_KEYS"]),
        ("DASH_SECRET_KEY", None), ("DASH_SECRET_KEY", "short"),
    ]


@pytest.mark.parametrize("variable, value", _weak_values(),
                         ids=lambda v: "unset" if v is None else str(v)[:24])
def test_each_development_default_is_named_when_production_is_set_in_dotenv(dotenv_only,
                                                                            variable, value):
    from api.production import all_settings, development_defaults

    dotenv_only({"EHB_ENV": "production", **STRONG, variable: value})
    problems = development_defaults(all_settings())
    assert len(problems) == 1 and problems[0].startswith(variable), problems
    assert problems[0].endswith("when EHB_ENV=production")


def test_strong_secrets_in_dotenv_start_and_development_is_not_refused(dotenv_only):
    from api.production import all_settings, development_defaults

    dotenv_only({"EHB_ENV": "production", **STRONG})
    assert development_defaults(all_settings()) == []
    dotenv_only({"EHB_ENV": "development"})  # defaults are fine outside production
    assert development_defaults(all_settings()) == []


def _start(folder, code: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=folder, capture_output=True,
                          text=True, timeout=120, env={**environment_without_settings(), **extra})


def test_api_refuses_to_start_on_the_public_webhook_secret_with_production_in_dotenv(tmp_path):
    """The reported case: EHB_ENV=production in .env, no PAYMENTS_WEBHOOK_SECRET. The API's
    app factory (what uvicorn runs) refuses; with the secret set it starts."""
    start = "from api.main import create_app; create_app(); print('started')"
    write_dotenv(tmp_path, {"EHB_ENV": "production", **STRONG, "PAYMENTS_WEBHOOK_SECRET": None})
    refused = _start(tmp_path, start)
    assert refused.returncode != 0 and "started" not in refused.stdout
    assert "PAYMENTS_WEBHOOK_SECRET must be set" in refused.stderr
    write_dotenv(tmp_path, {"EHB_ENV": "production", **STRONG})
    started = _start(tmp_path, start)
    assert started.returncode == 0 and "started" in started.stdout, started.stderr[-2000:]


def test_ehb_up_names_every_missing_secret_before_starting_anything(tmp_path):
    write_dotenv(tmp_path, {"EHB_ENV": "production", "JWT_SECRET": STRONG["JWT_SECRET"]})
    # A database that cannot answer: were the check missing, `ehb up` would fail later, on it.
    cli = _start(tmp_path, "import sys; sys.argv = ['ehb', 'up']; from api.cli import main; "
                 "main()", DATABASE_URL="postgresql://postgres@127.0.0.1:1/none")
    assert cli.returncode == 2, cli.stderr[-2000:]
    for variable in ("PAYMENTS_WEBHOOK_SECRET", "FIELD_ENCRYPTION_KEYS", "DASH_SECRET_KEY"):
        assert f"{variable} must" in cli.stderr
    assert "Traceback" not in cli.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == [".env"]  # nothing started or written


def test_dash_app_refuses_to_start_without_its_own_secret_key(dotenv_only):
    """Unset, the cookie key was a random one per process: sessions broke on every restart
    and across processes. Production needs it set."""
    from api.production import DevelopmentDefaultsInProduction
    from dashboards.app import create_app

    dotenv_only({"EHB_ENV": "production", **STRONG, "DASH_SECRET_KEY": None})
    with pytest.raises(DevelopmentDefaultsInProduction, match="DASH_SECRET_KEY must be set"):
        create_app()


def test_field_encryption_keys_in_dotenv_are_the_ones_used(dotenv_only):
    """They were read from os.environ alone: keys kept in .env were ignored and the public
    development key sealed the data instead."""
    from api.core.fieldcrypt import DEV_KEY_ID, key_id_of, keyring

    dotenv_only({"FIELD_ENCRYPTION_KEYS": STRONG["FIELD_ENCRYPTION_KEYS"]})
    ring = keyring()
    assert ring.active == "prod1" and DEV_KEY_ID not in ring.keys
    sealed = ring.encrypt("GB29NWBK60161331926819", "payment_methods.bank_account_number")
    assert key_id_of(sealed) == "prod1"
