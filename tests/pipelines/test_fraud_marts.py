"""The Trusty/fraud tables through the whole pipeline: fraud decisions (pass, hold for review,
block, failed attempts), reviewed and open cases and a multisig hold made through the service
functions; the GX gate and reconciliation cover the new raw tables; the fraud marts equal an
independent SQL over PostgreSQL; a bad case row is quarantined and blocks the holds mart."""

from __future__ import annotations

import dagster as dg
import pytest

from tests.pipelines.conftest import new_user, pg_exec

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
EUR = "EUR"


def _run(full=False, raw_tables=None):
    from pipelines.run import run_pipeline

    return run_pipeline(full=full, instance=dg.DagsterInstance.ephemeral(),
                        raw_tables=raw_tables)


def _checks(result) -> dict[tuple[str, str], object]:
    return {(e.event_specific_data.asset_key.to_user_string(), e.event_specific_data.check_name):
            e.event_specific_data for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION"}


def _wallet(session, user_id: int, amount: int = 0) -> None:
    from api.wallet import service

    account = service.owned_account(session, user_id, EUR)
    if amount:
        mint = service.system_account(session, "adjustments", EUR)
        service.post(session, "adjustment", [service.Posting(mint.id, -amount),
                                             service.Posting(account.id, amount)])
    session.commit()


def _fraud_through_services() -> dict[str, int]:
    """Every verdict and outcome the service produces; returns the case ids by fate."""
    from api.core.errors import AppError
    from api.db import new_session
    from api.trusty import service as trusty

    sender, bad, cautious, cosigner, support = (new_user(), new_user(), new_user(), new_user(),
                                                new_user(roles=["support"]))
    friends = [new_user() for _ in range(4)]
    cases: dict[str, int] = {}
    with new_session() as s:
        _wallet(s, sender.id, 1_000_000)
        _wallet(s, bad.id, 100)
        _wallet(s, cautious.id, 200_000)
        for f in friends:
            _wallet(s, f.id)

        def send(user, to, amount):
            try:
                status, body = trusty.protected_transfer(
                    s, user_id=user.id, to_user_id=to.id, amount=amount, currency=EUR,
                    client_ip=None, device_id=None)
                s.commit()
                return status, body
            except AppError:
                trusty.record_refusal(s, user_id=user.id, to_user_id=to.id, amount=amount,
                                      currency=EUR, client_ip=None, device_id=None)
                return 422, {}

        for _ in range(3):  # history: three small transfers to a friend
            assert send(sender, friends[0], 500)[0] == 201
        for fate, to, amount in (("released", friends[1], 60_000),
                                 ("refused", friends[2], 70_000),
                                 ("open", friends[3], 80_000)):
            status, body = send(sender, to, amount)  # large, to a new counterparty: review
            assert (status, body["status"]) == (202, "held_for_review"), body
            cases[fate] = body["fraud_case_id"]
        trusty.review_case(s, cases["released"], support.id, True, "called the customer")
        trusty.review_case(s, cases["refused"], support.id, False, "not the owner")
        s.commit()
        statuses = [send(bad, friends[0], 1_000_000 + i)[0] for i in range(4)]
        assert statuses == [422, 422, 422, 403]  # three failed attempts, then blocked
        trusty.set_policy(s, user_id=cautious.id, currency=EUR, threshold=50_000, required=1,
                          approver_ids=[cosigner.id])
        status, body = send(cautious, friends[1], 55_000)
        assert (status, body["status"]) == (202, "pending_approval"), body
        trusty.decide(s, body["request_id"], cosigner.id, "approve")
        s.commit()
    return cases


@pytest.fixture(scope="module")
def fraud_run(warehouse_dir, database_url):
    cases = _fraud_through_services()
    result = _run(full=True)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return result, cases


def test_gx_gate_and_reconciliation_cover_the_trusty_tables(fraud_run):
    checks = _checks(fraud_run[0])
    for table in ("trusty_policies", "trusty_requests", "trusty_approvals", "fraud_decisions",
                  "fraud_cases"):
        gx = checks[(f"raw/{table}", "gx_suite")]
        assert gx.passed, (table, gx.metadata)
        assert gx.metadata["rows_validated"].value > 0, table
        assert checks[(f"raw/{table}", "reconcile_daily")].passed, table
    assert "unexpected in_set(decision)" in checks[("raw/fraud_decisions", "gx_suite")].metadata
    for mart in ("marts/fct_fraud_decisions_daily", "marts/fraud_holds"):
        tests = {k[1]: v for k, v in checks.items() if k[0] == mart}
        assert len(tests) >= 5 and all(v.passed for v in tests.values()), (mart, tests)


def test_fraud_decisions_mart_equals_postgres(fraud_run, database_url):
    from pipelines.snapshot import query

    expected = pg_exec(database_url, """
        SELECT (created_at AT TIME ZONE 'UTC')::date, currency,
               CASE decision WHEN 'allow' THEN 'pass' WHEN 'review' THEN 'hold'
                    ELSE 'block' END,
               outcome,
               coalesce((SELECT r->>'rule' FROM jsonb_array_elements(reasons) r
                         ORDER BY (r->>'points')::int DESC, r->>'rule' LIMIT 1), 'none'),
               count(*), sum(amount)::bigint, count(DISTINCT user_id), sum(score)::bigint,
               max(score)::bigint
        FROM fraud_decisions GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5""")
    got = query("SELECT decision_date, currency, verdict, outcome, top_rule, decisions, "
                "amount_minor, distinct_users, score_total, max_score "
                "FROM marts.fct_fraud_decisions_daily ORDER BY 1, 2, 3, 4, 5")
    assert got == [tuple(r) for r in expected]
    verdicts = {r[2] for r in got}
    outcomes = {r[3] for r in got}
    assert {"pass", "hold", "block"} <= verdicts and {"posted", "held", "refused",
                                                      "failed"} <= outcomes
    # the reviewed holds carry their reviewed outcome (PostgreSQL updated them in place)
    assert query("SELECT sum(decisions) FROM marts.fct_fraud_decisions_daily WHERE "
                 "verdict = 'hold' AND outcome = 'posted'")[0][0] >= 1


def test_holds_mart_equals_postgres_cases(fraud_run, database_url):
    from pipelines.snapshot import query

    _, cases = fraud_run
    expected = pg_exec(database_url, """
        SELECT c.id, c.status, c.amount, c.reviewer_id IS NOT NULL, d.outcome
        FROM fraud_cases c JOIN fraud_decisions d ON d.id = c.decision_id ORDER BY 1""")
    got = query("SELECT case_id, status, amount_minor, reviewer_id IS NOT NULL, outcome "
                "FROM marts.fraud_holds WHERE hold_kind = 'fraud_review' ORDER BY 1")
    assert got == [tuple(r) for r in expected]
    mine = dict(query("SELECT case_id, reviewer_outcome FROM marts.fraud_holds "
                      "WHERE case_id IN (?, ?, ?)", [cases["released"], cases["refused"],
                                                     cases["open"]]))
    assert mine == {cases["released"]: "released", cases["refused"]: "refused",
                    cases["open"]: None}
    open_row = query("SELECT is_open, resolved_at, age_hours FROM marts.fraud_holds "
                     "WHERE case_id = ?", [cases["open"]])[0]
    assert open_row[0] is True and open_row[1] is None and open_row[2] >= 0
    blocked = pg_exec(database_url, "SELECT count(*), sum(amount)::bigint FROM fraud_decisions "
                                    "WHERE decision = 'block'")[0]
    assert query("SELECT count(*), sum(amount_minor)::bigint FROM marts.fraud_holds "
                 "WHERE hold_kind = 'blocked'") == [tuple(blocked)]
    approvals = pg_exec(database_url, "SELECT id, status FROM trusty_requests WHERE "
                                      "kind = 'transfer' ORDER BY 1")
    assert query("SELECT request_id, status FROM marts.fraud_holds WHERE hold_kind = "
                 "'approval' ORDER BY 1") == [tuple(r) for r in approvals]


def test_bad_case_row_is_quarantined_and_blocks_the_holds_mart(fraud_run, database_url):
    from pipelines.snapshot import query

    case_id = fraud_run[1]["open"]
    pg_exec(database_url, f"UPDATE fraud_cases SET status = 'lost' WHERE id = {case_id}")
    try:
        result = _run(raw_tables=["fraud_cases"])
        gx = _checks(result)[("raw/fraud_cases", "gx_suite")]
        assert not gx.passed and gx.metadata["unexpected in_set(status)"].value == 1
        assert query("SELECT count(*) FROM ops.quarantine WHERE table_name = 'fraud_cases' "
                     "AND row_pk = ? AND expectation = 'in_set(status)'", [str(case_id)]) \
            == [(1,)]
        # the holds mart kept its last good version: the case is still open there
        assert query("SELECT status FROM marts.fraud_holds WHERE case_id = ?", [case_id]) \
            == [("open",)]
    finally:
        pg_exec(database_url, f"UPDATE fraud_cases SET status = 'open' WHERE id = {case_id}")
