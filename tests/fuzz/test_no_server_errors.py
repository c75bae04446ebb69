"""Zero 5xx under a fuzzer: schemathesis generates requests for every operation of
/openapi.json (valid and invalid ones: examples, boundary coverage, random fuzzing, then
link-following scenarios) and no answer may be a server error.

Bounded and deterministic: a fixed seed, derandomized Hypothesis, no example database."""

from __future__ import annotations

import json
import os

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error

pytestmark = pytest.mark.timeout(600)

SEED = 20261205
MAX_EXAMPLES = 8      # fuzzing phase, per operation and identity
STATEFUL_SCENARIOS = 40
STATEFUL_STEPS = 8


def fuzz_config(max_examples: int = MAX_EXAMPLES) -> schemathesis.Config:
    return schemathesis.Config.from_dict({
        "seed": SEED,
        "suppress-health-check": ["all"],
        "generation": {"mode": "all", "max-examples": max_examples, "deterministic": True,
                       "database": "none", "no-shrink": True},
        "checks": {"enabled": False, "not_a_server_error": {"enabled": True}},
    })


def _openapi_document() -> dict:
    # The document is the same for every app instance; the requests go to the fuzz database's
    # app (the `fuzz_app` fixture), passed to each call.
    from api.main import create_app

    return create_app().openapi()


schema = schemathesis.openapi.from_dict(_openapi_document(), config=fuzz_config())


@pytest.fixture(scope="module")
def api_schema():
    return schema


def _call(case, app, actor, restore_actors, observed):
    restore_actors()
    response = case.call(app=app, headers=actor.headers)
    observed.record(case.operation.label, response)
    case.validate_response(response, checks=[not_a_server_error])


@schema.parametrize()
def test_no_server_error_as_admin(case, fuzz_app, actors, restore_actors, observed):
    _call(case, fuzz_app, actors["admin"], restore_actors, observed)


@schema.parametrize()
def test_no_server_error_as_customer(case, fuzz_app, actors, restore_actors, observed):
    _call(case, fuzz_app, actors["customer"], restore_actors, observed)


def test_no_server_error_following_links_as_admin(api_schema, fuzz_app, actors, restore_actors,
                                                  observed):
    admin = actors["admin"]

    class Scenarios(api_schema.as_state_machine()):
        def before_call(self, case):
            restore_actors()

        def get_call_kwargs(self, case):
            return {"headers": admin.headers, "app": fuzz_app}

        def after_call(self, response, case):
            observed.record(case.operation.label, response)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=[not_a_server_error])

    Scenarios.run(settings=hypothesis.settings(
        max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, derandomize=True,
        database=None, deadline=None, suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate]))


def test_reach(api_schema, observed):
    """Figures of the runs above, and no server error among them."""
    if not observed.answers:
        pytest.skip("needs the fuzz tests of this module in the same run")
    operations = {op.ok().label for op in api_schema.get_all_operations()}
    figures = {"operations": len(operations), "cases": observed.cases(),
               "non_404": len(observed.non_404() & operations),
               "reached": len(observed.reached() & operations),
               "succeeded": len(observed.succeeded() & operations),
               "not_reached": sorted(operations - observed.reached())}
    report = os.environ.get("EHB_FUZZ_REPORT")
    if report:
        with open(report, "w") as fh:
            json.dump({**figures, "answers": {label: {f"{s} {c}": n for (s, c), n in counter.items()}
                                              for label, counter in sorted(observed.answers.items())}},
                      fh, indent=1)
    print(f"\nfuzz: {figures}")
    assert observed.server_errors() == {}
