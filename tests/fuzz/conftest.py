"""The fuzz run's world: a database of its own (migrated, dropped after), so the generated
requests meet the same rows whether this module runs alone or inside the whole suite, and
the run's side effects (settlement runs, payouts, disabled users) never reach other tests.

Actors are made through the service functions; the app is the real one, called in-process
through ASGI (its lifespan and connection pools included)."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

import pytest

ADMIN_EMAIL = "fuzz-admin@example.com"
CUSTOMER_EMAIL = "fuzz-customer@example.com"
PASSWORD = "correct horse battery staple"


@dataclass
class Actor:
    user_id: int
    email: str
    roles: list[str]
    headers: dict[str, str]


# Answers that say the request never got past the gate (routing, schema validation, auth) or
# named no existing row: an operation answering only these was never really exercised.
GATE_CODES = frozenset({"not_found", "validation_error", "malformed_json", "payload_too_large",
                        "method_not_allowed", "unsupported_media_type", "unauthorized",
                        "forbidden"})


def answer_code(response) -> str | None:
    """The error code of an error answer (our one error body), None for a success."""
    if response.status_code < 400:
        return None
    try:
        return response.json()["error"]["code"]
    except (ValueError, KeyError, TypeError):
        return f"http_{response.status_code}"


@dataclass
class Observed:
    """(status, error code) answered per operation label ("POST /api/v1/..."), over every run."""

    answers: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))

    def record(self, label: str, response) -> None:
        self.answers[label][(response.status_code, answer_code(response))] += 1

    def cases(self) -> int:
        return sum(sum(c.values()) for c in self.answers.values())

    def server_errors(self) -> dict[str, list[int]]:
        return {label: sorted({s for s, _ in c if s >= 500}) for label, c in self.answers.items()
                if any(s >= 500 for s, _ in c)}

    def non_404(self) -> set[str]:
        return {label for label, c in self.answers.items() if any(s != 404 for s, _ in c)}

    def reached(self) -> set[str]:
        """Operations that answered a success or a refusal of the service's own."""
        return {label for label, c in self.answers.items()
                if any(code is None or code not in GATE_CODES for _, code in c)}

    def succeeded(self) -> set[str]:
        return {label for label, c in self.answers.items() if any(s < 300 for s, _ in c)}


@pytest.fixture(scope="module")
def fuzz_database(database_url):
    from api.scratchdb import scratch_database

    with scratch_database(database_url, prefix="ehb_fuzz") as url:
        yield url
        # The ASGI transport keeps each app's lifespan (its asyncio pool) alive for the
        # process: end it while its database still exists.
        from schemathesis.python.asgi import shutdown_lifespans

        shutdown_lifespans()


def _actor(email: str, roles: list[str]) -> Actor:
    from api.auth.service import create_user
    from api.auth.tokens import issue_access_token
    from api.db import session_scope
    from api.settings import get_settings

    with session_scope() as session:
        user = create_user(session, email, PASSWORD, roles=roles, verified=True)
    token = issue_access_token(get_settings(), user.id, session_family=None)
    return Actor(user.id, email, roles, {"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def actors(fuzz_database) -> dict[str, Actor]:
    return {"admin": _actor(ADMIN_EMAIL, ["admin"]),
            "customer": _actor(CUSTOMER_EMAIL, ["customer"])}


@pytest.fixture(scope="module")
def restore_actors(actors):
    """The fuzzer may disable the actors or change their roles (they are admin routes):
    put them back before each call so every case runs as the identity it claims."""
    from sqlalchemy import text

    from api.db import session_scope

    def _restore() -> None:
        with session_scope() as session:
            for actor in actors.values():
                session.execute(text("UPDATE users SET is_active = true, roles = :roles"
                                     " WHERE id = :id AND (NOT is_active OR roles <> :roles)"),
                                {"id": actor.user_id, "roles": actor.roles})

    return _restore


@pytest.fixture(scope="module")
def fuzz_app(fuzz_database):
    from api.main import create_app

    return create_app()


@pytest.fixture(scope="module")
def observed() -> Observed:
    return Observed()
