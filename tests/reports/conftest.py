from __future__ import annotations

from datetime import date

import pytest


@pytest.fixture(scope="session", autouse=True)
def report_snapshot(tmp_path_factory):
    """The reports API reads the snapshot named by the settings: point them at a fixture."""
    import os

    from dashboards.sample import build_sample_snapshot
    from dashboards.settings import get_dash_settings

    path = build_sample_snapshot(tmp_path_factory.mktemp("rwh") / "snapshot.duckdb", users=300,
                                 days=120, today=date(2026, 11, 25))
    old = os.environ.get("EHB_WAREHOUSE_DIR")
    os.environ["EHB_WAREHOUSE_DIR"] = str(path.parent)
    get_dash_settings.cache_clear()
    yield path
    if old is None:
        os.environ.pop("EHB_WAREHOUSE_DIR", None)
    else:
        os.environ["EHB_WAREHOUSE_DIR"] = old
    get_dash_settings.cache_clear()


@pytest.fixture
def analyst(make_user, auth_headers):
    user, _ = make_user(roles=["analyst"])
    return user, auth_headers(user)


@pytest.fixture
def report(client, analyst):
    import uuid

    body = {"name": f"Users by role {uuid.uuid4().hex[:6]}",
            "sql": "SELECT primary_role, count(*) AS users, min(user_id) AS first_id "
                   "FROM marts.dim_users WHERE signup_date BETWEEN $since AND $until "
                   "GROUP BY 1 ORDER BY 2 DESC",
            "parameters": {"since": {"type": "date", "required": True},
                           "until": {"type": "date"}},
            "default_filters": {"since": "2026-07-01", "until": "2026-11-25"},
            "chart": {"kind": "bar", "x": "primary_role", "y": ["users"]}}
    resp = client.post("/api/v1/reports", json=body, headers=analyst[1])
    assert resp.status_code == 201, resp.text
    return resp.json()


@pytest.fixture
def detail_report(client, analyst):
    import uuid

    body = {"name": f"All users {uuid.uuid4().hex[:6]}",
            "sql": "SELECT * FROM marts.dim_users WHERE user_id >= $min_id ORDER BY user_id",
            "parameters": {"min_id": {"type": "int"}}, "default_filters": {"min_id": 1}}
    resp = client.post("/api/v1/reports", json=body, headers=analyst[1])
    assert resp.status_code == 201, resp.text
    return resp.json()
