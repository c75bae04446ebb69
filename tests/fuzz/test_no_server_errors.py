"""Zero 5xx under a fuzzer: schemathesis generates requests for every operation of
/openapi.json, those its schema allows and those it forbids, and no answer may be a server
error (the `not_a_server_error` check only: other checks judge conformance, not crashes).

- as the admin: the document's examples, boundary coverage (every limit, every missing or
  wrong-typed field, unexpected methods) and random fuzzing, per operation;
- as a plain customer: examples and random fuzzing (coverage would mostly meet 403s);
- as the admin again: scenarios following the document's OpenAPI links (a create's or a
  list's answer feeds the operations on that row).
The world (tests/fuzz/world.py) gives the document's id examples real rows to name.

Bounded and deterministic: fixed seed, derandomized Hypothesis, no example database, a fixed
number of examples per operation and of scenarios; a fresh database (see conftest)."""

from __future__ import annotations

import json
import os
import re

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.timeout(600)

SEED = 20261205
ADMIN_EXAMPLES = 8      # random cases per operation (fuzzing phase), besides examples/coverage
CUSTOMER_EXAMPLES = 5
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 8


def fuzz_config(max_examples: int, coverage: bool) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True,
                       "database": "none", "no-shrink": True},
        "phases": {"coverage": {"enabled": coverage}},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
    })


def _openapi_document() -> dict:
    # The document is the same for every app instance; the requests go to the fuzz database's
    # app (the `fuzz_app` fixture), passed to each call.
    from api.main import create_app

    return create_app().openapi()


DOCUMENT = _openapi_document()
as_admin = schemathesis.openapi.from_dict(DOCUMENT, config=fuzz_config(ADMIN_EXAMPLES, True))
as_customer = schemathesis.openapi.from_dict(DOCUMENT,
                                             config=fuzz_config(CUSTOMER_EXAMPLES, False))


def _call(run, case, app, actor, restore_actors, observed):
    restore_actors()
    response = case.call(app=app, headers=actor.headers)
    observed.record(run, case.operation.label, response)
    case.validate_response(response, checks=[not_a_server_error])


@as_admin.parametrize()
def test_no_server_error_as_admin(case, fuzz_app, world, actors, restore_actors, observed):
    _call("admin", case, fuzz_app, actors["admin"], restore_actors, observed)


@as_customer.parametrize()
def test_no_server_error_as_customer(case, fuzz_app, world, actors, restore_actors, observed):
    _call("customer", case, fuzz_app, actors["customer"], restore_actors, observed)


def test_no_server_error_following_links_as_admin(fuzz_app, world, actors, restore_actors,
                                                  observed):
    admin = actors["admin"]

    class Scenarios(as_admin.as_state_machine()):
        def before_call(self, case):
            restore_actors()

        def get_call_kwargs(self, case):
            return {"headers": admin.headers, "app": fuzz_app}

        def after_call(self, response, case):
            observed.record("links", case.operation.label, response)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[not_a_server_error])

    try:
        Scenarios.run(settings=hypothesis.settings(
            max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS,
            derandomize=True, database=None, deadline=None, phases=[hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck)))
    except hypothesis.errors.Flaky:
        # The server's state moves under the scenarios (rows made, orders shipped): Hypothesis
        # may find a replayed prefix drawing differently and stop, as schemathesis's own runner
        # allows. Not a server error; every answer given until then is judged below.
        pass
    answers = observed.merged("links")
    assert answers, "no scenario ran"
    assert {label: c for label, c in answers.items() if any(s >= 500 for s, _ in c)} == {}


def test_figures(observed):
    """What the runs above reached (set EHB_FUZZ_REPORT=path for every answer), and no
    server error among them."""
    if not observed.answers:
        pytest.skip("needs the fuzz tests of this module in the same run")
    operations = {op.ok().label for op in as_admin.get_all_operations()}
    figures = {"operations": len(operations), "cases": observed.cases(),
               **{f"cases_{run}": observed.cases(run) for run in observed.answers},
               "non_404": len(observed.non_404() & operations),
               "reached": len(observed.reached() & operations),
               **{f"reached_{run}": len(observed.reached(run) & operations)
                  for run in observed.answers},
               "succeeded": len(observed.succeeded() & operations),
               "not_reached": sorted(operations - observed.reached())}
    report = os.environ.get("EHB_FUZZ_REPORT")
    if report:
        answers = {label: {f"{s} {c}": n for (s, c), n in counter.items()}
                   for label, counter in sorted(observed.merged().items())}
        with open(report, "w") as fh:
            json.dump({**figures, "answers": answers}, fh, indent=1)
    print(f"\nfuzz: {figures}")
    assert observed.server_errors() == {}


def _example_bodies(document: dict):
    """(method, path, body) for every request-body example the document gives."""
    schemas = document["components"]["schemas"]
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema", {})
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
            for body in schema.get("examples", []):
                yield method, path, body


def test_document_examples_pass_validation(fuzz_app, world, actors):
    """A fuzzer (or a client) sending the document's own examples gets past validation: the
    answer may refuse the request for the row's state, never for its shape."""
    from fastapi.testclient import TestClient

    examples = list(_example_bodies(DOCUMENT))
    assert len(examples) >= 10
    with TestClient(fuzz_app) as client:  # with its lifespan: the hot routes' asyncio pool
        for method, path, body in examples:
            url = re.sub(r"\{[^}]+\}", "1", path)
            r = client.request(method, url, json=body, headers=actors["admin"].headers)
            assert r.status_code < 500, (method, path, r.text)
            if r.status_code == 422:
                assert r.json()["error"]["code"] != "validation_error", (method, path, r.text)


def _with_nul_in_each_string(value, path=()):
    """Copies of `value` with a NUL byte in one string at a time (PostgreSQL text cannot hold
    one: a schema that lets it through meets a database error)."""
    if isinstance(value, str):
        yield path, value[:1] + "\x00" + value[1:]
    elif isinstance(value, dict):
        for key, item in value.items():
            for where, changed in _with_nul_in_each_string(item, (*path, key)):
                yield where, {**value, key: changed}
    elif isinstance(value, list):
        for i, item in enumerate(value):
            for where, changed in _with_nul_in_each_string(item, (*path, i)):
                yield where, [*value[:i], changed, *value[i + 1:]]


def test_a_nul_byte_in_any_string_is_refused_not_a_server_error(fuzz_app, world, actors,
                                                                 restore_actors):
    """Every string of every example body, every query parameter and header (sent with the
    operation's example body), with a NUL byte: a 4xx, never a 5xx."""
    from fastapi.testclient import TestClient

    examples = {(method, path): body for method, path, body in _example_bodies(DOCUMENT)}
    probes = 0

    def probe(method, path, *, body=None, params=None, extra=None):
        nonlocal probes
        restore_actors()
        url = re.sub(r"\{[^}]+\}", "1", path)
        # A key of its own per probe: a reused one would replay the first answer.
        headers = {**actors["admin"].headers, "Idempotency-Key": f"fuzz-nul-{probes}"}
        r = client.request(method, url, json=body, params=params,
                           headers={**headers, **(extra or {})})
        probes += 1
        assert r.status_code < 500, (method, path, body, params, extra, r.text)

    with TestClient(fuzz_app) as client:  # with its lifespan: the hot routes' asyncio pool
        for (method, path), body in examples.items():
            for _, changed in _with_nul_in_each_string(body):
                probe(method, path, body=changed)
        for path, methods in DOCUMENT["paths"].items():
            for method, operation in methods.items():
                body = examples.get((method, path))
                for parameter in operation.get("parameters", []):
                    if parameter["in"] == "query":
                        probe(method, path, body=body, params={parameter["name"]: "x\x00y"})
                    elif parameter["in"] == "header":
                        probe(method, path, body=body, extra={parameter["name"]: "x\x00y"})
    assert probes > 50
