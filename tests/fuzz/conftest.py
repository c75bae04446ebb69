"""The fuzz run's world: a database of its own (migrated, dropped after), so the generated
requests meet the same rows whether this module runs alone or inside the whole suite, and
the run's side effects (settlement runs, payouts, disabled users) never reach other tests.

Actors are made through the service functions; the app is the real one, called in-process
through ASGI (its lifespan and connection pools included)."""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date

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
    """(status, error code) answered per operation label ("POST /api/v1/..."), per run."""

    answers: dict[str, dict[str, Counter]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(Counter)))

    def record(self, run: str, label: str, response) -> None:
        self.answers[run][label][(response.status_code, answer_code(response))] += 1

    def merged(self, run: str | None = None) -> dict[str, Counter]:
        total: dict[str, Counter] = defaultdict(Counter)
        for name, labels in self.answers.items():
            if run in (None, name):
                for label, counter in labels.items():
                    total[label].update(counter)
        return total

    def cases(self, run: str | None = None) -> int:
        return sum(sum(c.values()) for c in self.merged(run).values())

    def server_errors(self) -> dict[str, list[int]]:
        return {label: sorted({s for s, _ in c if s >= 500})
                for label, c in self.merged().items() if any(s >= 500 for s, _ in c)}

    def non_404(self, run: str | None = None) -> set[str]:
        return {label for label, c in self.merged(run).items() if any(s != 404 for s, _ in c)}

    def reached(self, run: str | None = None) -> set[str]:
        """Operations that answered a success or a refusal of the service's own."""
        return {label for label, c in self.merged(run).items()
                if any(code is None or code not in GATE_CODES for _, code in c)}

    def succeeded(self, run: str | None = None) -> set[str]:
        return {label for label, c in self.merged(run).items() if any(s < 300 for s, _ in c)}


@pytest.fixture(scope="module")
def fuzz_database(database_url, tmp_path_factory):
    """A migrated database of its own, and data and warehouse folders of its own (report runs
    and exports read and write there), all dropped after."""
    import os

    from api.scratchdb import scratch_database
    from dashboards.sample import build_sample_snapshot
    from dashboards.settings import get_dash_settings

    folder = tmp_path_factory.mktemp("fuzz")
    snapshot = build_sample_snapshot(folder / "warehouse" / "snapshot.duckdb", users=40, days=30,
                                     events_per_day=5, today=date(2026, 11, 25))
    saved = {name: os.environ.get(name) for name in ("EHB_WAREHOUSE_DIR", "EHB_DATA_DIR")}
    os.environ["EHB_WAREHOUSE_DIR"], os.environ["EHB_DATA_DIR"] = str(snapshot.parent), str(folder)
    get_dash_settings.cache_clear()
    try:
        with scratch_database(database_url, prefix="ehb_fuzz") as url:
            yield url
            # The ASGI transport keeps each app's lifespan (its asyncio pool) alive for the
            # process: end it while its database still exists.
            from schemathesis.python.asgi import shutdown_lifespans

            shutdown_lifespans()
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        get_dash_settings.cache_clear()


def _make_user(roles: list[str] | None = None, password: str = PASSWORD,
               verified: bool = True, email: str | None = None):
    from api.auth.service import create_user
    from api.db import session_scope

    email = email or f"user-{uuid.uuid4().hex[:12]}@example.com"
    with session_scope() as session:
        user = create_user(session, email, password, roles=roles or ["customer"],
                           verified=verified)
    return user, password


def _headers(user) -> dict[str, str]:
    from api.auth.tokens import issue_access_token
    from api.settings import get_settings

    token = issue_access_token(get_settings(), user.id, session_family=None)
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def actors(fuzz_database) -> dict[str, Actor]:
    # The admin also owns a franchise (the owner must hold the franchisee role).
    made = {"admin": _make_user(["admin", "franchisee"], email=ADMIN_EMAIL)[0],
            "customer": _make_user(["customer"], email=CUSTOMER_EMAIL)[0]}
    return {name: Actor(user.id, user.email, list(user.roles), _headers(user))
            for name, user in made.items()}


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
def world(fuzz_app, actors):
    from api.auth.models import User
    from api.db import session_scope
    from tests.fuzz.world import build_world

    with session_scope() as session:
        admin, customer = (session.get(User, actors[n].user_id) for n in ("admin", "customer"))
    made = build_world(fuzz_app, admin, customer, _make_user, _headers)
    # The document's id example is 1: the world's first row of each kind.
    assert (made.shop_id, made.product_id, made.paid_order_id, made.franchise_id,
            made.settlement_id, made.ticket_id, made.rule_id, made.dashboard_id,
            made.report_id) == (1,) * 9, made
    return made


@pytest.fixture(scope="module")
def observed() -> Observed:
    return Observed()
