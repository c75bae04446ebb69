"""Settlement periods outside the calendar are refused with a 422 naming the problem, not a
500 (the fuzzer sent {"period": "0000-01"}), and nothing is stored."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from api.core.errors import Unprocessable
from api.db import session_scope
from api.franchises import service
from api.franchises.models import Settlement

API = "/api/v1/franchises"


def test_year_zero_and_the_last_month_of_the_calendar_are_422(client, market, db):
    before = db.scalar(select(func.count()).select_from(Settlement))
    sup = market.support.headers
    r = client.post(f"{API}/settlements/run", headers=sup, json={"period": "0000-01"})
    assert r.status_code == 422, r.text
    error = r.json()["error"]
    assert error["code"] == "validation_error" and "period" in error["message"]
    r = client.post(f"{API}/settlements/run", headers=sup, json={"period": "9999-12"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "bad_period"
    # The earliest month is a month like any other (long closed: settled, nothing to settle).
    r = client.post(f"{API}/settlements/run", headers=sup, json={"period": "0001-01"})
    assert r.status_code == 200 and r.json() == []
    assert db.scalar(select(func.count()).select_from(Settlement)) == before


def test_service_refuses_a_month_whose_end_is_past_the_calendar(database_url):
    with session_scope() as session, pytest.raises(Unprocessable) as refused:
        service.settle_month(session, date(9999, 12, 1))
    assert refused.value.code == "bad_period"
