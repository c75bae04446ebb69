"""Saved custom dashboards: own only (admin sees all), validation, conflicts, permissions."""

from __future__ import annotations

import pytest

BASE = "/api/v1/analytics/dashboards"
BODY = {"name": "Growth", "charts": ["signups_daily", "users_by_role"],
        "filters": {"start": "2026-11-01", "end": "2026-11-25", "currency": "EUR"}}


def test_save_reopen_update_delete(client, make_user, auth_headers):
    user, _ = make_user(roles=["analyst"])
    h = auth_headers(user)
    created = client.post(BASE, json=BODY, headers=h)
    assert created.status_code == 201, created.text
    d = created.json()
    assert d["owner_id"] == user.id and d["charts"] == BODY["charts"]
    assert d["filters"] == {"start": "2026-11-01", "end": "2026-11-25", "currency": "EUR"}
    assert client.get(f"{BASE}/{d['id']}", headers=h).json()["name"] == "Growth"
    changed = client.put(f"{BASE}/{d['id']}", headers=h,
                         json={**BODY, "charts": ["login_failures_daily"], "filters": {}})
    assert changed.status_code == 200
    assert changed.json()["charts"] == ["login_failures_daily"] and changed.json()["filters"] == {}
    assert [x["id"] for x in client.get(BASE, headers=h).json()] == [d["id"]]
    assert client.delete(f"{BASE}/{d['id']}", headers=h).status_code == 204
    assert client.get(f"{BASE}/{d['id']}", headers=h).status_code == 404


def test_only_own_dashboards_but_admin_sees_all(client, make_user, auth_headers):
    alice, _ = make_user(roles=["seller"])
    bob, _ = make_user(roles=["customer"])
    admin, _ = make_user(roles=["admin"])
    d = client.post(BASE, json=BODY, headers=auth_headers(alice)).json()
    hb = auth_headers(bob)
    assert client.get(f"{BASE}/{d['id']}", headers=hb).status_code == 404
    assert client.put(f"{BASE}/{d['id']}", json=BODY, headers=hb).status_code == 404
    assert client.delete(f"{BASE}/{d['id']}", headers=hb).status_code == 404
    assert d["id"] not in [x["id"] for x in client.get(BASE, headers=hb).json()]
    assert d["id"] in [x["id"] for x in client.get(BASE, headers=auth_headers(admin)).json()]
    assert client.get(f"{BASE}/{d['id']}", headers=auth_headers(admin)).status_code == 200


def test_duplicate_name_conflicts_per_owner(client, make_user, auth_headers):
    a, _ = make_user()
    b, _ = make_user()
    assert client.post(BASE, json=BODY, headers=auth_headers(a)).status_code == 201
    dup = client.post(BASE, json=BODY, headers=auth_headers(a))
    assert dup.status_code == 409 and dup.json()["error"]["code"] == "dashboard_name_taken"
    assert client.post(BASE, json=BODY, headers=auth_headers(b)).status_code == 201


@pytest.mark.parametrize("body, fragment", [
    ({**BODY, "charts": ["nope"]}, "unknown chart"),
    ({**BODY, "charts": []}, "charts"),
    ({**BODY, "charts": ["signups_daily", "signups_daily"]}, "twice"),
    ({**BODY, "name": "   "}, "blank"),
    ({**BODY, "filters": {"start": "2026-02-01", "end": "2026-01-01"}}, "end must not"),
    ({**BODY, "filters": {"currency": "euro"}}, "currency"),
    ({**BODY, "filters": {"sql": "drop"}}, "sql"),
])
def test_invalid_bodies_are_422(client, make_user, auth_headers, body, fragment):
    user, _ = make_user()
    resp = client.post(BASE, json=body, headers=auth_headers(user))
    assert resp.status_code == 422
    assert fragment in str(resp.json()["error"])


def test_charts_catalog_and_anonymous_refused(client, make_user, auth_headers):
    assert client.get(BASE).status_code == 401
    assert client.get("/api/v1/analytics/charts").status_code == 401
    user, _ = make_user(roles=["franchisee"])
    keys = [c["key"] for c in client.get("/api/v1/analytics/charts",
                                          headers=auth_headers(user)).json()]
    assert "signups_daily" in keys
