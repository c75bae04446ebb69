"""Delivery of outbox messages: email over SMTP (a real local server), SMS to the local sink,
retries with backoff, preferences, statuses, the API views, and the worker path."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, text

from api.notifications import service
from api.notifications.delivery import backoff_seconds, deliver, deliver_due
from api.notifications.models import DeliveryAttempt, OutboxMessage, SmsSinkMessage
from api.notifications.preferences import set_preferences
from tests.notifications.conftest import free_port


def _email(db, user, category="payments.receipt", subject="Your receipt"):
    msg = service.enqueue(db, channel="email", category=category, recipient=user.email,
                          subject=subject, body="Thanks for paying 12.50 USD", user_id=user.id)
    db.commit()
    return msg.id


def _attempts(db, message_id):
    return [(a.attempt, a.outcome) for a in db.scalars(
        select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id)
        .order_by(DeliveryAttempt.id))]


def _jobs_for(db, message_id):
    return db.execute(text(
        "SELECT status::text, scheduled_at FROM procrastinate_jobs"
        " WHERE task_name = 'hooks.notifications.deliver' AND (args->>'message_id')::bigint = :m"
        " ORDER BY id"), {"m": message_id}).all()


def test_enqueue_writes_message_and_job_in_the_callers_transaction(db, make_user):
    user, _ = make_user()
    msg = service.enqueue(db, channel="email", category="payments.receipt",
                          recipient=user.email, body="x", user_id=user.id)
    mid = msg.id
    assert len(_jobs_for(db, mid)) == 1
    db.rollback()
    assert db.get(OutboxMessage, mid) is None
    assert _jobs_for(db, mid) == []
    mid = _email(db, user)
    assert [j.status for j in _jobs_for(db, mid)] == ["todo"]


def test_delivery_fails_then_succeeds(db, make_user, smtp_server, notify_settings):
    inbox, port = smtp_server
    user, _ = make_user()
    mid = _email(db, user)
    down = notify_settings(free_port())  # nothing listens there
    t0 = datetime.now(UTC)

    assert deliver(db, mid, now=t0, settings=down) == "pending"
    db.expire_all()
    msg = db.get(OutboxMessage, mid)
    assert (msg.status, msg.attempts) == ("pending", 1)
    assert "ConnectionRefusedError" in msg.last_error
    assert msg.next_attempt_at == t0 + timedelta(seconds=30)
    # The retry job was deferred with the failure record, scheduled at the backoff time.
    jobs = _jobs_for(db, mid)
    assert len(jobs) == 2 and jobs[1].scheduled_at == msg.next_attempt_at

    up = notify_settings(port)
    # Before the backoff has passed nothing happens, even with the server up.
    assert deliver(db, mid, now=t0 + timedelta(seconds=10), settings=up) == "not_due"
    assert inbox.to(user.email) == []
    assert deliver(db, mid, now=t0 + timedelta(seconds=31), settings=up) == "sent"
    db.expire_all()
    msg = db.get(OutboxMessage, mid)
    assert (msg.status, msg.attempts, msg.last_error) == ("sent", 2, None)
    assert _attempts(db, mid) == [(1, "failed"), (2, "sent")]
    [mail] = inbox.to(user.email)
    assert mail["Subject"] == "Your receipt"
    assert mail["X-EHB-Message-Id"] == str(mid)
    assert "12.50 USD" in mail.get_content()
    # Delivering again is a no-op: no second email.
    assert deliver(db, mid, settings=up) == "sent"
    assert len(inbox.to(user.email)) == 1


def test_backoff_is_exponential_and_attempts_are_bounded(db, make_user, notify_settings):
    settings = notify_settings(free_port(), max_attempts=3, backoff_base_seconds=10,
                               backoff_max_seconds=25)
    assert [backoff_seconds(n, settings) for n in (1, 2, 3, 4)] == [10, 20, 25, 25]
    user, _ = make_user()
    mid = _email(db, user)
    now = datetime.now(UTC)
    for _ in range(3):
        status = deliver(db, mid, now=now, settings=settings)
        now += timedelta(seconds=30)
    assert status == "failed"
    db.expire_all()
    msg = db.get(OutboxMessage, mid)
    assert (msg.status, msg.attempts, msg.next_attempt_at) == ("failed", 3, None)
    assert _attempts(db, mid) == [(1, "failed"), (2, "failed"), (3, "failed")]
    assert deliver(db, mid, now=now, settings=settings) == "failed"  # final: no 4th try


def test_sms_goes_to_the_local_sink_and_bad_numbers_fail_permanently(db, make_user):
    user, _ = make_user()
    good = service.enqueue(db, channel="sms", category="payments.receipt",
                           recipient="+923001234567", body="Paid 500 PKR", user_id=user.id).id
    bad = service.enqueue(db, channel="sms", category="payments.receipt",
                          recipient="0300-123", body="x", user_id=user.id).id
    db.commit()
    assert deliver(db, good) == "sent"
    assert deliver(db, bad) == "failed"
    sink = db.scalars(select(SmsSinkMessage).where(
        SmsSinkMessage.to_number == "+923001234567")).all()
    assert [s.body for s in sink][-1] == "Paid 500 PKR"
    assert _attempts(db, bad) == [(1, "failed")]
    assert db.get(OutboxMessage, bad).attempts == 1


def test_preferences_are_honoured_and_security_mail_cannot_be_disabled(
        db, make_user, smtp_server, notify_settings):
    inbox, port = smtp_server
    settings = notify_settings(port)
    user, _ = make_user()
    set_preferences(db, user.id, [("email", "*", False), ("email", "complaints.ticket_reply", True)])
    receipt = _email(db, user, category="payments.receipt")
    reply = _email(db, user, category="complaints.ticket_reply", subject="Reply")
    reset = _email(db, user, category="auth.password_reset", subject="Reset your password")
    assert deliver(db, receipt, settings=settings) == "skipped"
    assert deliver(db, reply, settings=settings) == "sent"
    assert deliver(db, reset, settings=settings) == "sent"
    assert _attempts(db, receipt) == [(1, "skipped")]
    assert sorted(m["Subject"] for m in inbox.to(user.email)) == ["Reply", "Reset your password"]
    # Other channels are unaffected by the email preference.
    sms = service.enqueue(db, channel="sms", category="payments.receipt",
                          recipient="+14155552671", body="r", user_id=user.id).id
    db.commit()
    assert deliver(db, sms, settings=settings) == "sent"


def test_deliver_due_sweeps_pending_messages(db, make_user, smtp_server, notify_settings):
    inbox, port = smtp_server
    # The shared test database holds other tests' pending messages (complaint escalations grow
    # with the session's length): a batch larger than all of them reaches this test's three.
    settings = notify_settings(port, due_batch_size=100_000)
    user, _ = make_user()
    ids = [_email(db, user, subject=f"s{i}") for i in range(3)]
    outcomes = deliver_due(db, settings=settings)
    assert outcomes.get("sent", 0) >= 3
    assert {db.get(OutboxMessage, i).status for i in ids} == {"sent"}
    assert sorted(m["Subject"] for m in inbox.to(user.email)) == ["s0", "s1", "s2"]


def test_worker_delivers_enqueued_message(db, make_user, smtp_server, notify_settings,
                                          database_url):
    from api.jobs.worker import run_workers

    inbox, port = smtp_server
    notify_settings(port)
    user, _ = make_user()
    mid = _email(db, user, subject="via worker")
    asyncio.run(run_workers(database_url, queues=["notifications"], wait=False,
                            install_signal_handlers=False))
    db.expire_all()
    assert db.get(OutboxMessage, mid).status == "sent"
    assert [m["Subject"] for m in inbox.to(user.email)] == ["via worker"]
    assert _jobs_for(db, mid)[0].status == "succeeded"


def test_message_status_api(client, db, make_user, auth_headers, notify_settings):
    notify_settings(free_port())
    user, _ = make_user()
    other, _ = make_user()
    support, _ = make_user(roles=["support"])
    mid = _email(db, user)
    deliver(db, mid)
    r = client.get(f"/api/v1/notifications/messages/{mid}", headers=auth_headers(user))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "pending" and body["attempts"] == 1
    assert body["delivery_attempts"][0]["outcome"] == "failed"
    assert client.get(f"/api/v1/notifications/messages/{mid}",
                      headers=auth_headers(other)).status_code == 404
    assert [m["id"] for m in client.get("/api/v1/notifications/messages",
                                        headers=auth_headers(user)).json()] == [mid]
    r = client.get(f"/api/v1/notifications/admin/messages?status=pending&user_id={user.id}",
                   headers=auth_headers(support))
    assert [m["id"] for m in r.json()] == [mid]
    assert client.get("/api/v1/notifications/admin/messages",
                      headers=auth_headers(user)).status_code == 403
    assert client.get("/api/v1/notifications/admin/messages").status_code == 401


def test_preferences_api(client, make_user, auth_headers):
    user, _ = make_user()
    h = auth_headers(user)
    r = client.put("/api/v1/notifications/preferences", headers=h, json={"preferences": [
        {"channel": "sms", "category": "*", "enabled": False},
        {"channel": "email", "category": "payments.receipt", "enabled": False}]})
    assert r.status_code == 200, r.text
    assert len(r.json()) == 2
    # Security-critical: refused, and nothing of the request is written.
    r = client.put("/api/v1/notifications/preferences", headers=h, json={"preferences": [
        {"channel": "push", "category": "marketing.news", "enabled": False},
        {"channel": "email", "category": "auth.password_reset", "enabled": False}]})
    assert r.status_code == 422 and r.json()["error"]["code"] == "mandatory_category"
    prefs = client.get("/api/v1/notifications/preferences", headers=h).json()
    assert {(p["channel"], p["category"]) for p in prefs} == {("sms", "*"),
                                                              ("email", "payments.receipt")}
    for bad in ({"preferences": [{"channel": "fax", "category": "*", "enabled": False}]},
                {"preferences": [{"channel": "sms", "category": "<b>x</b>", "enabled": True}]},
                {"preferences": []}):
        assert client.put("/api/v1/notifications/preferences", headers=h,
                          json=bad).status_code == 422
    assert client.get("/api/v1/notifications/preferences").status_code == 401


def test_worker_retries_a_failed_delivery_after_backoff(db, make_user, notify_settings,
                                                        database_url):
    """End to end through the queue: the first job fails (no SMTP server), the retry job it
    deferred runs after the backoff once a server is up, and the email arrives once."""
    import time

    from aiosmtpd.controller import Controller

    from api.jobs.worker import run_workers
    from tests.notifications.conftest import Inbox

    port = free_port()
    notify_settings(port, backoff_base_seconds=1)
    user, _ = make_user()
    mid = _email(db, user, subject="retried")
    work = lambda: asyncio.run(run_workers(database_url, queues=["notifications"],  # noqa: E731
                                           wait=False, install_signal_handlers=False))
    work()
    db.expire_all()
    msg = db.get(OutboxMessage, mid)
    assert (msg.status, msg.attempts) == ("pending", 1)
    assert [j.status for j in _jobs_for(db, mid)] == ["succeeded", "todo"]

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        time.sleep(max(0.0, (msg.next_attempt_at - datetime.now(UTC)).total_seconds()) + 0.2)
        work()
    finally:
        controller.stop()
    db.expire_all()
    assert db.get(OutboxMessage, mid).status == "sent"
    assert [m["Subject"] for m in inbox.to(user.email)] == ["retried"]
    assert _attempts(db, mid) == [(1, "failed"), (2, "sent")]
    assert [j.status for j in _jobs_for(db, mid)] == ["succeeded", "succeeded"]


def test_staff_never_read_security_mail_bodies(client, db, make_user, auth_headers):
    user, _ = make_user()
    support, _ = make_user(roles=["support"])
    reset = service.enqueue(db, channel="email", category="auth.password_reset",
                            recipient=user.email, subject="Reset",
                            body="https://x/reset?token=SECRET", user_id=user.id).id
    receipt = _email(db, user)
    r = client.get(f"/api/v1/notifications/admin/messages/{reset}", headers=auth_headers(support))
    assert r.status_code == 200 and "SECRET" not in r.text
    r = client.get(f"/api/v1/notifications/admin/messages/{receipt}",
                   headers=auth_headers(support))
    assert "12.50 USD" in r.json()["body"]
    # Nor does the user themself (issue 13 item 1: an access token must not read the reset
    # link); their other mail they do read.
    r = client.get(f"/api/v1/notifications/messages/{reset}", headers=auth_headers(user))
    assert r.status_code == 200 and "SECRET" not in r.text
    r = client.get(f"/api/v1/notifications/messages/{receipt}", headers=auth_headers(user))
    assert "12.50 USD" in r.json()["body"]
