"""Complaint tickets through the API on the real PostgreSQL: the whole lifecycle, visibility,
internal notes, notifications in the same transaction, refusals, SLA sweep, CSAT."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.complaints import sla
from api.complaints.models import Feedback, Ticket, TicketEvent, TicketMessage
from api.notifications.models import OutboxMessage

BASE = "/api/v1/complaints/tickets"


@pytest.fixture
def people(make_user, auth_headers):
    customer, _ = make_user(roles=["customer"])
    other, _ = make_user(roles=["customer"])
    agent, _ = make_user(roles=["support"])
    return {"customer": customer, "other": other, "agent": agent,
            "h": {k: auth_headers(u) for k, u in
                  (("customer", customer), ("other", other), ("agent", agent))}}


def _open(client, h, **over):
    body = {"subject": "Parcel never arrived", "body": "Order 991 is <b>late</b>.",
            "category": "delivery", "priority": "high", **over}
    r = client.post(BASE, headers=h, json=body)
    assert r.status_code == 201, r.text
    return r.json()


def _outbox(db, user_id, category="complaints.ticket_reply"):
    return db.scalars(select(OutboxMessage).where(OutboxMessage.user_id == user_id,
                                                  OutboxMessage.category == category)
                      .order_by(OutboxMessage.id)).all()


def test_full_lifecycle(client, db, people):
    h = people["h"]
    t = _open(client, h["customer"])
    assert t["status"] == "open" and t["order_id"] is None  # references: test_references.py
    assert t["messages"][0]["body"] == "Order 991 is late."  # markup stripped
    created = datetime.fromisoformat(t["created_at"])
    # high priority: first response 4 h, resolution 24 h (defaults)
    assert abs((datetime.fromisoformat(t["first_response_due_at"]) - created)
               - timedelta(hours=4)) < timedelta(seconds=5)
    assert abs((datetime.fromisoformat(t["resolution_due_at"]) - created)
               - timedelta(hours=24)) < timedelta(seconds=5)
    tid = t["id"]

    r = client.post(f"{BASE}/{tid}/assign", headers=h["agent"],
                    json={"assignee_id": people["agent"].id})
    assert r.status_code == 200 and r.json()["assignee_id"] == people["agent"].id

    # Internal note: no status change, no notification, invisible to the customer.
    r = client.post(f"{BASE}/{tid}/replies", headers=h["agent"],
                    json={"body": "Courier says lost", "internal": True})
    assert r.status_code == 201 and r.json()["internal"] is True
    assert _outbox(db, people["customer"].id) == []

    r = client.post(f"{BASE}/{tid}/replies", headers=h["agent"], json={"body": "We are on it."})
    assert r.status_code == 201
    db.expire_all()
    mails = _outbox(db, people["customer"].id)
    assert {m.channel for m in mails} == {"email", "push"}
    assert mails[0].recipient == people["customer"].email and "We are on it." in mails[0].body

    cust_view = client.get(f"{BASE}/{tid}", headers=h["customer"]).json()
    assert cust_view["status"] == "pending" and cust_view["first_responded_at"]
    assert [m["body"] for m in cust_view["messages"]] == ["Order 991 is late.", "We are on it."]
    agent_view = client.get(f"{BASE}/{tid}", headers=h["agent"]).json()
    assert "Courier says lost" in [m["body"] for m in agent_view["messages"]]

    r = client.post(f"{BASE}/{tid}/replies", headers=h["customer"], json={"body": "Thanks"})
    assert r.status_code == 201
    assert client.get(f"{BASE}/{tid}", headers=h["customer"]).json()["status"] == "open"

    r = client.post(f"{BASE}/{tid}/resolve", headers=h["agent"],
                    json={"resolution": "Refund issued"})
    assert r.status_code == 200 and r.json()["status"] == "resolved"
    r = client.post(f"{BASE}/{tid}/reopen", headers=h["customer"],
                    json={"reason": "Refund not received"})
    assert r.status_code == 200
    assert (r.json()["status"], r.json()["reopen_count"], r.json()["resolution"]) == (
        "reopened", 1, None)
    client.post(f"{BASE}/{tid}/resolve", headers=h["agent"], json={"resolution": "Refund sent"})
    r = client.post(f"{BASE}/{tid}/feedback", headers=h["customer"],
                    json={"rating": 4, "comment": "ok <script>x</script>"})
    assert r.status_code == 201 and r.json()["comment"] == "ok"
    r = client.post(f"{BASE}/{tid}/close", headers=h["customer"])
    assert r.status_code == 200 and r.json()["status"] == "closed"
    kinds = db.scalars(select(TicketEvent.kind).where(TicketEvent.ticket_id == tid)
                       .order_by(TicketEvent.id)).all()
    assert kinds[0] == "opened" and "assigned" in kinds and "reopened" in kinds
    assert kinds[-1] == "status" and "feedback" in kinds


def test_visibility_customers_see_only_their_tickets(client, people):
    h = people["h"]
    mine = _open(client, h["customer"])["id"]
    theirs = _open(client, h["other"])["id"]
    ids = [t["id"] for t in client.get(BASE, headers=h["customer"]).json()]
    assert mine in ids and theirs not in ids
    assert client.get(f"{BASE}/{theirs}", headers=h["customer"]).status_code == 404
    r = client.post(f"{BASE}/{theirs}/replies", headers=h["customer"], json={"body": "hi"})
    assert r.status_code == 404
    all_ids = [t["id"] for t in client.get(f"{BASE}?limit=200", headers=h["agent"]).json()]
    assert {mine, theirs} <= set(all_ids)


def test_refusals_leave_nothing_written(client, db, people):
    h = people["h"]
    count = lambda model: db.scalar(select(func.count()).select_from(model))  # noqa: E731
    before = (count(Ticket), count(TicketMessage), count(OutboxMessage))
    for bad in ({"subject": "x", "body": "b", "category": "delivery"},          # too short
                {"subject": "<b></b>ok", "body": "b", "category": "delivery"},  # 2 chars left
                {"subject": "Valid", "body": "b", "category": "nonsense"},
                {"subject": "Valid", "body": "b", "category": "order", "priority": "asap"},
                {"subject": "Valid", "body": "b", "category": "order", "order_id": -3},
                {"subject": "Valid", "body": "b", "category": "order", "order_id": "12"},
                {"subject": "Valid", "body": "b", "category": "order", "status": "closed"}):
        r = client.post(BASE, headers=h["customer"], json=bad)
        assert r.status_code == 422, bad
        assert r.json()["error"]["code"] == "validation_error"
    assert (count(Ticket), count(TicketMessage), count(OutboxMessage)) == before
    tid = _open(client, h["customer"])["id"]
    before = (count(Ticket), count(TicketMessage), count(OutboxMessage))
    # A customer cannot write internal notes, assign, resolve.
    r = client.post(f"{BASE}/{tid}/replies", headers=h["customer"],
                    json={"body": "sneaky", "internal": True})
    assert r.status_code == 403 and r.json()["error"]["code"] == "agents_only"
    assert client.post(f"{BASE}/{tid}/resolve", headers=h["customer"],
                       json={"resolution": "x"}).status_code == 403
    assert client.post(f"{BASE}/{tid}/assign", headers=h["customer"],
                       json={"assignee_id": people["agent"].id}).status_code == 403
    # Assigning to a non-agent, feedback before resolution, closing an open ticket.
    r = client.post(f"{BASE}/{tid}/assign", headers=h["agent"],
                    json={"assignee_id": people["other"].id})
    assert r.status_code == 422 and r.json()["error"]["code"] == "not_an_agent"
    r = client.post(f"{BASE}/{tid}/feedback", headers=h["customer"], json={"rating": 5})
    assert r.status_code == 409
    assert client.post(f"{BASE}/{tid}/close", headers=h["agent"]).status_code == 409
    assert client.post(f"{BASE}/{tid}/reopen", headers=h["customer"],
                       json={"reason": "x"}).status_code == 409
    assert client.get(f"{BASE}/999999999", headers=h["agent"]).status_code == 404
    db.expire_all()
    assert (count(Ticket), count(TicketMessage), count(OutboxMessage)) == before
    assert client.post(BASE, json={}).status_code == 401


def test_resolved_ticket_needs_reopen_and_closed_is_final(client, people):
    h = people["h"]
    tid = _open(client, h["customer"])["id"]
    client.post(f"{BASE}/{tid}/resolve", headers=h["agent"], json={"resolution": "done"})
    r = client.post(f"{BASE}/{tid}/replies", headers=h["customer"], json={"body": "more"})
    assert r.status_code == 409 and r.json()["error"]["code"] == "ticket_not_active"
    assert client.post(f"{BASE}/{tid}/resolve", headers=h["agent"],
                       json={"resolution": "again"}).status_code == 409
    assert client.post(f"{BASE}/{tid}/close", headers=h["agent"]).status_code == 200
    r = client.post(f"{BASE}/{tid}/reopen", headers=h["customer"], json={"reason": "no"})
    assert r.status_code == 409


def test_feedback_once_even_when_racing(client, db, people):
    h = people["h"]
    tid = _open(client, h["customer"])["id"]
    client.post(f"{BASE}/{tid}/resolve", headers=h["agent"], json={"resolution": "done"})
    with ThreadPoolExecutor(4) as pool:
        codes = list(pool.map(lambda i: client.post(
            f"{BASE}/{tid}/feedback", headers=h["customer"],
            json={"rating": 1 + i, "comment": f"c{i}"}).status_code, range(4)))
    assert sorted(codes) == [201, 409, 409, 409]
    assert db.scalar(select(func.count()).select_from(Feedback)
                     .where(Feedback.ticket_id == tid)) == 1
    for bad in ({"rating": 0}, {"rating": 6}, {"rating": 4.5}, {"rating": "5"}):
        assert client.post(f"{BASE}/{tid}/feedback", headers=h["customer"],
                           json=bad).status_code == 422
    # Only the ticket's customer rates it.
    assert client.post(f"{BASE}/{tid}/feedback", headers=h["agent"],
                       json={"rating": 5}).status_code == 403


def test_sla_sweep_detects_breaches_and_escalates_once(client, db, people, make_user):
    h = people["h"]
    admin, _ = make_user(roles=["admin"])
    urgent = _open(client, h["customer"], priority="urgent")["id"]      # 1 h / 8 h
    assigned = _open(client, h["customer"], priority="urgent")["id"]
    client.post(f"{BASE}/{assigned}/assign", headers=h["agent"],
                json={"assignee_id": people["agent"].id})
    answered = _open(client, h["customer"], priority="urgent")["id"]
    client.post(f"{BASE}/{answered}/replies", headers=h["agent"], json={"body": "hello"})
    low = _open(client, h["customer"], priority="low")["id"]           # 24 h / 7 d
    now = datetime.now(UTC)

    sla.sweep(db, now=now + timedelta(minutes=30))  # before any target: no breach
    db.expire_all()
    assert db.get(Ticket, urgent).first_response_breached_at is None

    later = now + timedelta(minutes=61)
    sla.sweep(db, now=later)
    db.expire_all()
    t = db.get(Ticket, urgent)
    assert t.first_response_breached_at is not None and t.escalation_level == 1
    assert t.resolution_breached_at is None
    assert db.get(Ticket, answered).first_response_breached_at is None
    assert db.get(Ticket, low).escalation_level == 0
    # Escalation notifies the assignee if any, else admins.
    esc = "complaints.escalation"
    assert any(f"#{assigned}" in m.subject for m in _outbox(db, people["agent"].id, esc))
    assert any(f"#{urgent}" in m.subject for m in _outbox(db, admin.id, esc))
    # Sweeping again at the same time escalates nothing more.
    sla.sweep(db, now=later)
    db.expire_all()
    assert db.get(Ticket, urgent).escalation_level == 1
    # Past the resolution target: a second breach, a second escalation.
    sla.sweep(db, now=now + timedelta(hours=9))
    db.expire_all()
    t = db.get(Ticket, urgent)
    assert t.resolution_breached_at is not None and t.escalation_level == 2
    r = client.get(f"{BASE}?breached=true&priority=urgent", headers=h["agent"])
    assert urgent in [x["id"] for x in r.json()]
    assert low not in [x["id"] for x in r.json()]


def test_sla_sweep_as_a_job_and_endpoint(client, db, people, database_url):
    import asyncio

    from api.jobs import service as jobs
    from api.jobs.worker import run_workers

    h = people["h"]
    tid = _open(client, h["customer"], priority="urgent")["id"]
    db.execute(Ticket.__table__.update().where(Ticket.id == tid).values(
        first_response_due_at=datetime.now(UTC) - timedelta(minutes=1)))
    job_id = jobs.defer(db, "hooks.complaints.sla_sweep",
                        timestamp=int(datetime.now(UTC).timestamp()))
    db.commit()
    asyncio.run(run_workers(database_url, queues=["complaints"], wait=False,
                            install_signal_handlers=False))
    db.expire_all()
    assert jobs.get_job(db, job_id)["status"] == "succeeded"
    assert db.get(Ticket, tid).first_response_breached_at is not None
    assert client.post("/api/v1/complaints/sla/sweep", headers=h["customer"]).status_code == 403
    r = client.post("/api/v1/complaints/sla/sweep", headers=h["agent"])
    assert r.status_code == 200 and set(r.json()) == {"first_response_breaches",
                                                      "resolution_breaches", "escalated"}


def test_priority_change_moves_due_times(client, people):
    h = people["h"]
    t = _open(client, h["customer"], priority="low")
    r = client.post(f"{BASE}/{t['id']}/priority", headers=h["agent"], json={"priority": "urgent"})
    assert r.status_code == 200
    created = datetime.fromisoformat(t["created_at"])
    due = datetime.fromisoformat(r.json()["first_response_due_at"])
    assert abs(due - created - timedelta(hours=1)) < timedelta(seconds=5)
    assert client.post(f"{BASE}/{t['id']}/priority", headers=h["agent"],
                       json={"priority": "asap"}).status_code == 422
