"""The scheduled hooks of goseller, affiliates and franchises are registered and run."""

from __future__ import annotations

from datetime import UTC, date, datetime

from api.db import new_session


def test_hooks_registered_on_money_queues():
    from api.jobs import tasks  # noqa: F401 - discovers every domain's jobs.py
    from api.jobs.registry import HOOKS

    assert HOOKS["hooks.goseller.payouts"] == ("payouts", "*/10 * * * *")
    assert HOOKS["hooks.affiliates.commissions"] == ("payouts", "*/15 * * * *")
    assert HOOKS["hooks.franchises.settle"] == ("settlements", "30 3 * * *")


def test_previous_month_wraps_the_year():
    from api.franchises.jobs import _previous_month

    assert _previous_month(date(2026, 1, 9)) == date(2025, 12, 1)
    assert _previous_month(date(2026, 11, 25)) == date(2026, 10, 1)


def test_hooks_run_against_the_database(database_url):
    from api.affiliates.jobs import commissions
    from api.franchises.jobs import settle
    from api.goseller.jobs import payouts

    with new_session() as s:
        assert set(payouts(s, datetime.now(UTC))) == {"payouts", "paid"}
        assert set(commissions(s, datetime.now(UTC))) == {"approved", "paid", "awaiting_ledger"}
        # On the 3rd, February's return window is still open: the job settles January.
        # (Dates long past, so other tests' orders are not settled here.)
        assert settle(s, datetime(2020, 3, 3, tzinfo=UTC)) == {"period": "2020-01",
                                                                "statements": 0}
        assert settle(s, datetime(2020, 3, 20, tzinfo=UTC))["period"] == "2020-02"
