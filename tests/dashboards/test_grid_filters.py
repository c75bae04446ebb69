"""Global filters in the URL and the grid's server-side paging, sorting and filtering."""

from __future__ import annotations

from datetime import date

import pytest

from dashboards import filters as flt
from dashboards.catalog import mart
from dashboards.grid import GridRequestError, MAX_PAGE, page_query
from dashboards.scope import Scope

ALL = Scope.everything()
USERS = mart("marts.dim_users")


def test_filters_round_trip_through_the_url():
    f = flt.Filters(date(2026, 1, 1), date(2026, 1, 31), "EUR", 4, 9)
    assert flt.from_query(f.to_query()) == f
    assert f.previous() == flt.Filters(date(2025, 12, 1), date(2025, 12, 31), "EUR", 4, 9)


def test_bad_url_values_fall_back_to_defaults():
    f = flt.from_query("?start=garbage&end=2026-02-01&currency=eur;drop&seller=x",
                       today=date(2026, 3, 1))
    assert f.end == date(2026, 2, 1) and f.currency is None and f.seller is None
    swapped = flt.from_query("?start=2026-02-10&end=2026-02-01")
    assert swapped.start < swapped.end


def _page(warehouse, request, filters=None, cross=None):
    rows_sql, count_sql, params = page_query(USERS, request, filters, cross)
    page = warehouse.run(rows_sql, params, ALL)
    count = warehouse.run(count_sql, {k: v for k, v in params.items()
                                      if k not in ("g_limit", "g_offset")}, ALL)
    return page, count.rows[0][0]


def test_paging_and_sorting(warehouse):
    page, total = _page(warehouse, {"startRow": 100, "endRow": 150,
                                    "sortModel": [{"colId": "user_id", "sort": "desc"}]})
    assert total == 300
    assert page.column("user_id") == list(range(200, 150, -1))


def test_text_number_and_date_filters_are_bound(warehouse):
    req = {"startRow": 0, "endRow": 500, "filterModel": {
        "email_domain": {"filterType": "text", "type": "contains", "filter": "corp"},
        "login_failures": {"filterType": "number", "type": "greaterThan", "filter": 0},
    }}
    page, total = _page(warehouse, req)
    assert total == len(page.rows) > 0
    assert all(d == "corp.test" for d in page.column("email_domain"))
    assert all(n > 0 for n in page.column("login_failures"))
    day = {"startRow": 0, "endRow": 500, "filterModel": {
        "signup_date": {"filterType": "date", "type": "equals", "dateFrom": "2026-11-20 00:00:00"}}}
    page, total = _page(warehouse, day)
    assert total > 0 and set(page.column("signup_date")) == {date(2026, 11, 20)}


def test_injection_attempts_are_values_not_sql(warehouse):
    req = {"startRow": 0, "endRow": 10, "filterModel": {
        "display_name": {"filterType": "text", "type": "equals", "filter": "x' OR '1'='1"}}}
    page, total = _page(warehouse, req)
    assert total == 0 and page.rows == []


@pytest.mark.parametrize("request_", [
    {"sortModel": [{"colId": "user_id; DROP TABLE x", "sort": "asc"}]},
    {"filterModel": {"password_hash": {"filterType": "text", "type": "equals", "filter": "a"}}},
    {"filterModel": {"user_id": {"filterType": "number", "type": "regex", "filter": 1}}},
])
def test_unknown_columns_and_operators_are_refused(request_):
    with pytest.raises(GridRequestError):
        page_query(USERS, request_, None)


def test_page_size_is_capped(warehouse):
    page, _ = _page(warehouse, {"startRow": 0, "endRow": 10_000})
    assert len(page.rows) == min(MAX_PAGE, 300)


def test_global_filters_and_cross_filters_apply(warehouse):
    f = flt.Filters(date(2026, 11, 16), date(2026, 11, 25))
    page, total = _page(warehouse, {"startRow": 0, "endRow": 500}, f, {"primary_role": "seller"})
    assert total > 0
    assert all(date(2026, 11, 16) <= d <= date(2026, 11, 25) for d in page.column("signup_date"))
    assert set(page.column("primary_role")) == {"seller"}


def test_day_filters_on_timestamp_columns_use_utc_day_bounds(warehouse):
    from datetime import UTC

    throttles = mart("marts.security_throttles")
    for op, check in [("equals", lambda t: t.date() == date(2026, 11, 24)),
                      ("lessThan", lambda t: t.date() < date(2026, 11, 24)),
                      ("greaterThan", lambda t: t.date() > date(2026, 11, 22))]:
        day = "2026-11-22" if op == "greaterThan" else "2026-11-24"
        req = {"startRow": 0, "endRow": 500, "filterModel": {"last_failure_at": {
            "filterType": "date", "type": op, "dateFrom": f"{day} 00:00:00"}}}
        rows_sql, count_sql, params = page_query(throttles, req, None)
        assert "CAST" not in rows_sql
        page = warehouse.run(rows_sql, params, ALL)
        stamps = [t.astimezone(UTC) for t in page.column("last_failure_at")]
        assert stamps and all(check(t) for t in stamps), op
