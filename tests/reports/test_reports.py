"""Report definitions, runs with bound parameters, row-level scope, and refusals."""

from __future__ import annotations

import pytest

BASE = "/api/v1/reports"


def test_define_list_run(client, analyst, report):
    listed = client.get(BASE, headers=analyst[1]).json()
    assert report["id"] in [r["id"] for r in listed]
    run = client.post(f"{BASE}/{report['id']}/run", json={}, headers=analyst[1])
    assert run.status_code == 200, run.text
    body = run.json()
    assert body["columns"] == ["primary_role", "users", "first_id"]
    assert body["parameters"] == {"since": "2026-07-01", "until": "2026-11-25"}
    assert sum(r[1] for r in body["rows"]) == 300  # every user signed up in the 120 days
    narrower = client.post(f"{BASE}/{report['id']}/run", headers=analyst[1],
                           json={"parameters": {"since": "2026-11-20"}}).json()
    assert 0 < sum(r[1] for r in narrower["rows"]) < 300


def test_limit_truncates_and_says_so(client, analyst, detail_report):
    body = client.post(f"{BASE}/{detail_report['id']}/run", headers=analyst[1],
                       json={"limit": 10}).json()
    assert body["row_count"] == 10 and body["truncated"] is True
    assert isinstance(body["rows"][0][body["columns"].index("roles")], str)


def test_rows_are_scoped_to_the_caller(client, make_user, auth_headers, detail_report):
    seller, _ = make_user(roles=["seller"])
    body = client.post(f"{BASE}/{detail_report['id']}/run", json={},
                       headers=auth_headers(seller)).json()
    ids = [r[body["columns"].index("user_id")] for r in body["rows"]]
    assert ids == ([seller.id] if seller.id <= 300 else [])
    csv = client.get(f"{BASE}/{detail_report['id']}/export.csv", headers=auth_headers(seller))
    assert csv.status_code == 200
    assert len(csv.text.strip().splitlines()) == 1 + len(ids)


@pytest.mark.parametrize("change, code", [
    ({"sql": "DELETE FROM marts.dim_users"}, "invalid_report_sql"),
    ({"sql": "SELECT * FROM users"}, "invalid_report_sql"),
    ({"sql": "SELECT * FROM snap.marts.dim_users"}, "invalid_report_sql"),
    ({"sql": "SELECT * FROM read_parquet('/etc/x')"}, "invalid_report_sql"),
    ({"sql": "SELECT * FROM marts.dim_users WHERE user_id = $nope"}, "undeclared_parameters"),
    ({"sql": "SELECT * FROM marts.dim_users", "parameters": {"x": {"type": "int"}}},
     "unused_parameters"),
    ({"sql": "SELECT * FROM marts.dim_users WHERE user_id = $x",
      "parameters": {"x": {"type": "int"}}, "default_filters": {"x": "abc"}},
     "invalid_parameter"),
])
def test_bad_definitions_are_refused(client, analyst, change, code):
    body = {"name": "bad", "sql": "SELECT 1 FROM marts.dim_users", **change}
    resp = client.post(BASE, json=body, headers=analyst[1])
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["code"] == code


@pytest.mark.parametrize("params, code", [
    ({"since": "yesterday"}, "invalid_parameter"),
    ({"since": "2026-01-01", "bogus": 1}, "unknown_parameter"),
    ({"since": ""}, "missing_parameter"),
])
def test_bad_run_parameters_are_refused(client, analyst, report, params, code):
    resp = client.post(f"{BASE}/{report['id']}/run", json={"parameters": params},
                       headers=analyst[1])
    assert resp.status_code == 422 and resp.json()["error"]["code"] == code
    qs = "&".join(f"{k}={v}" for k, v in params.items())
    assert client.get(f"{BASE}/{report['id']}/export.csv?{qs}",
                      headers=analyst[1]).status_code == 422


def test_permissions_and_name_conflict(client, make_user, auth_headers, analyst, report):
    seller, _ = make_user(roles=["seller"])
    hs = auth_headers(seller)
    assert client.get(BASE).status_code == 401
    assert client.get(BASE, headers=hs).status_code == 200
    body = {"name": "x", "sql": "SELECT 1 FROM marts.dim_users"}
    assert client.post(BASE, json=body, headers=hs).status_code == 403
    assert client.delete(f"{BASE}/{report['id']}", headers=hs).status_code == 403
    dup = client.post(BASE, headers=analyst[1], json={**body, "name": report["name"]})
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "report_name_taken"
    assert client.get(f"{BASE}/999999", headers=hs).status_code == 404


def test_update_and_delete(client, analyst, report):
    body = {"name": report["name"], "sql": "SELECT count(*) AS n FROM marts.dim_users"}
    changed = client.put(f"{BASE}/{report['id']}", json=body, headers=analyst[1])
    assert changed.status_code == 200 and changed.json()["parameters"] == {}
    assert client.post(f"{BASE}/{report['id']}/run", json={},
                       headers=analyst[1]).json()["rows"] == [[300]]
    assert client.delete(f"{BASE}/{report['id']}", headers=analyst[1]).status_code == 204
    assert client.get(f"{BASE}/{report['id']}", headers=analyst[1]).status_code == 404


def test_missing_snapshot_is_503(client, analyst, report, monkeypatch, tmp_path):
    from dashboards.settings import get_dash_settings

    monkeypatch.setenv("EHB_WAREHOUSE_DIR", str(tmp_path))
    get_dash_settings.cache_clear()
    try:
        resp = client.post(f"{BASE}/{report['id']}/run", json={}, headers=analyst[1])
    finally:
        monkeypatch.undo()
        get_dash_settings.cache_clear()
    assert resp.status_code == 503 and resp.json()["error"]["code"] == "warehouse_unavailable"
