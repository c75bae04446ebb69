"""Production refuses to start on a development default.

Every secret or key that has a development default (or none at all) is listed here, with the
settings class that reads it (environment first, then `.env`, like every setting):

| variable | development default | read by |
| --- | --- | --- |
| JWT_SECRET | a public string | api.settings.Settings |
| PAYMENTS_WEBHOOK_SECRET | a public string | api.payments.settings.PaymentsSettings |
| FIELD_ENCRYPTION_KEYS | a key derived from a public string | api.core.fieldcrypt.FieldEncryptionSettings |
| DASH_SECRET_KEY | a random key per process | dashboards.settings.DashSettings |

(AUTH_PEPPER is derived from JWT_SECRET when unset; SMTP credentials have no default.) Each
class refuses its own in production when built; a process checks the ones it uses when it
starts (`create_app` of the API and of the Dash app, `ehb worker`), and `ehb up` checks them
all before it starts anything, so one run names every variable still to set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pydantic import ValidationError


class DevelopmentDefaultsInProduction(RuntimeError):
    """EHB_ENV=production with a development secret or key: the process must not start."""


def api_settings() -> list[Callable[[], object]]:
    """What the API and the job worker read: the JWT secret, webhook secret, field keys."""
    from api.core.fieldcrypt import FieldEncryptionSettings
    from api.payments.settings import PaymentsSettings
    from api.settings import Settings

    return [Settings, PaymentsSettings, FieldEncryptionSettings]


def dash_settings() -> list[Callable[[], object]]:
    """What the Dash app reads: its cookie key, and the field keys its session store uses."""
    from api.core.fieldcrypt import FieldEncryptionSettings
    from api.settings import Settings
    from dashboards.settings import DashSettings

    return [Settings, FieldEncryptionSettings, DashSettings]


def all_settings() -> list[Callable[[], object]]:
    return list(dict.fromkeys(api_settings() + dash_settings()))


def development_defaults(settings_classes: Iterable[Callable[[], object]]) -> list[str]:
    """Build each settings class afresh and collect what each refuses (one line per variable);
    empty outside production."""
    problems: list[str] = []
    for build in settings_classes:
        try:
            build()
        except ValidationError as exc:
            for error in exc.errors(include_input=False):
                message = str(error.get("msg", "")).removeprefix("Value error, ")
                if error.get("type") != "value_error":  # e.g. EHB_ENV=prod: say which
                    message = f"{'.'.join(map(str, error.get('loc', ())))}: {message}"
                if message not in problems:
                    problems.append(message)
    return problems


def refuse_development_defaults(settings_classes: Iterable[Callable[[], object]]) -> None:
    problems = development_defaults(settings_classes)
    if problems:
        raise DevelopmentDefaultsInProduction(
            "refusing to start with development secrets:\n  " + "\n  ".join(problems))
