"""Scheduled exports: subscriptions through the API, due subscriptions exported with the
subscriber's scope, emails in the outbox, retention, a failing export alerting its owner while
the others still export, and the Dagster job and schedules."""

from __future__ import annotations

import csv
import os
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, text

BASE = "/api/v1/reports"
NOW = datetime(2026, 11, 25, 3, 30, tzinfo=UTC)  # a Wednesday


@pytest.fixture(autouse=True)
def _only_this_tests_subscriptions(database_url):
    """The session's database is shared: every test starts and ends with no active
    subscriptions, so a run sees only the ones its test made."""
    from api.db import session_scope

    def clear():
        with session_scope() as s:
            s.execute(text("UPDATE report_subscriptions SET active = false"))

    clear()
    yield
    clear()


def subscribe(client, headers, report_id, **body):
    return client.post(f"{BASE}/{report_id}/subscriptions", json=body, headers=headers)


def outbox(db, category):
    from api.notifications.models import OutboxMessage

    db.rollback()
    return list(db.scalars(select(OutboxMessage).where(OutboxMessage.category == category)
                           .order_by(OutboxMessage.id)))


def test_subscribe_list_unsubscribe_and_refusals(client, analyst, report, make_user,
                                                 auth_headers):
    user, headers = analyst
    resp = subscribe(client, headers, report["id"], cadence="weekly", format="xlsx",
                     parameters={"since": "2026-10-01"})
    assert resp.status_code == 201, resp.text
    sub = resp.json()
    assert (sub["cadence"], sub["format"], sub["user_id"]) == ("weekly", "xlsx", user.id)
    assert sub["parameters"] == {"since": "2026-10-01"} and sub["active"]

    again = subscribe(client, headers, report["id"], cadence="weekly", format="xlsx")
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_subscribed"
    bad = subscribe(client, headers, report["id"], cadence="weekly", parameters={"since": "x"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_parameter"
    unknown = subscribe(client, headers, report["id"], cadence="weekly",
                        parameters={"nope": 1})
    assert unknown.status_code == 422 and unknown.json()["error"]["code"] == "unknown_parameter"
    assert subscribe(client, headers, report["id"], cadence="hourly").status_code == 422
    assert subscribe(client, headers, 10**12, cadence="daily").status_code == 404
    assert subscribe(client, {}, report["id"], cadence="daily").status_code == 401

    mine = client.get(f"{BASE}/subscriptions", headers=headers).json()
    assert [s["id"] for s in mine] == [sub["id"]]
    other, _ = make_user(roles=["customer"])
    other_headers = auth_headers(other)
    assert client.get(f"{BASE}/subscriptions", headers=other_headers).json() == []
    # Someone else's subscription cannot be cancelled (and does not show as existing).
    resp = client.delete(f"{BASE}/subscriptions/{sub['id']}", headers=other_headers)
    assert resp.status_code == 404
    assert client.delete(f"{BASE}/subscriptions/{sub['id']}", headers=headers).status_code == 204
    assert client.get(f"{BASE}/subscriptions", headers=headers).json() == []
    assert client.delete(f"{BASE}/subscriptions/{sub['id']}", headers=headers).status_code == 404
    # Subscribing again reactivates the same subscription.
    back = subscribe(client, headers, report["id"], cadence="weekly", format="xlsx")
    assert back.status_code == 201 and back.json()["id"] == sub["id"]


def test_due_exports_write_scoped_files_and_email_links(client, db, analyst, detail_report,
                                                        make_user, auth_headers, tmp_path):
    from api.reports.scheduled import run_due_exports
    from api.reports.settings import ExportSettings

    customer, _ = make_user(roles=["customer"])
    customer_headers = auth_headers(customer)
    a = subscribe(client, analyst[1], detail_report["id"], cadence="daily", format="csv").json()
    c = subscribe(client, customer_headers, detail_report["id"], cadence="daily",
                  format="csv").json()
    weekly = subscribe(client, analyst[1], detail_report["id"], cadence="weekly",
                       format="parquet").json()

    settings = ExportSettings(keep_days=30, public_base_url="https://ehb.example")
    summary = run_due_exports(db, "daily", NOW, tmp_path, settings=settings)
    assert (summary.exported, summary.failed) == (2, 0)
    assert all(p.startswith(str(tmp_path)) for p in summary.paths)

    from api.reports.models import ReportExportRun

    db.rollback()
    runs = {r.subscription_id: r for r in db.scalars(select(ReportExportRun).where(
        ReportExportRun.subscription_id.in_([a["id"], c["id"], weekly["id"]])))}
    assert set(runs) == {a["id"], c["id"]}  # the weekly one is not due in a daily run
    analyst_rows = list(csv.reader(open(runs[a["id"]].file_path)))
    assert len(analyst_rows) == 301 and runs[a["id"]].rows == 300
    customer_rows = list(csv.reader(open(runs[c["id"]].file_path)))[1:]
    # The customer's file holds only what the customer may see: their own row, if any.
    assert runs[c["id"]].rows == len(customer_rows) <= 1
    assert all(r[0] == str(customer.id) for r in customer_rows)
    assert all(r.status == "succeeded" and r.bytes > 0 for r in runs.values())

    mails = {m.payload["export_run_id"]: m for m in outbox(db, "reports.export_ready")
             if m.payload.get("export_run_id") in {r.id for r in runs.values()}}
    assert len(mails) == 2
    mail = mails[runs[c["id"]].id]
    assert mail.recipient == customer.email and mail.status == "pending"
    link = f"https://ehb.example/api/v1/reports/export-runs/{runs[c['id']].id}/download"
    assert link in mail.body and mail.payload["download_url"] == link

    # The link serves the stored file to its subscriber only.
    path = f"/api/v1/reports/export-runs/{runs[c['id']].id}/download"
    got = client.get(path, headers=customer_headers)
    assert got.status_code == 200 and got.content == open(runs[c["id"]].file_path, "rb").read()
    assert client.get(path, headers=analyst[1]).status_code == 404
    listed = client.get(f"{BASE}/export-runs", headers=customer_headers).json()
    assert listed[0]["id"] == runs[c["id"]].id and listed[0]["status"] == "succeeded"

    # Same day again: nothing is due, nothing re-sent.
    again = run_due_exports(db, "daily", NOW + timedelta(hours=5), tmp_path, settings=settings)
    assert (again.exported, again.failed) == (0, 0)
    # The next day it is due again.
    assert run_due_exports(db, "daily", NOW + timedelta(days=1), tmp_path,
                           settings=settings).exported == 2
    # Weekly: due once in the ISO week.
    assert run_due_exports(db, "weekly", NOW, tmp_path, settings=settings).exported == 1
    assert run_due_exports(db, "weekly", NOW + timedelta(days=4), tmp_path,
                           settings=settings).exported == 0  # Sunday, same week

    # Retention removed the file: the link says so instead of failing.
    os.remove(runs[c["id"]].file_path)
    gone = client.get(path, headers=customer_headers)
    assert gone.status_code == 410 and gone.json()["error"]["code"] == "export_expired"


def test_retention_after_a_run_deletes_old_files(client, db, analyst, detail_report, tmp_path):
    from api.reports.exports import slug
    from api.reports.scheduled import run_due_exports
    from api.reports.settings import ExportSettings

    subscribe(client, analyst[1], detail_report["id"], cadence="monthly", format="csv")
    folder = tmp_path / slug(detail_report["name"])
    folder.mkdir()
    old, recent = folder / "old.csv", folder / "recent.csv"
    for path, days in ((old, 40), (recent, 3)):
        path.write_text("x\n")
        stamp = NOW.timestamp() - days * 86400
        os.utime(path, (stamp, stamp))
    summary = run_due_exports(db, "monthly", NOW, tmp_path,
                              settings=ExportSettings(keep_days=30))
    assert summary.exported == 1 and summary.removed == [str(old)]
    assert not old.exists() and recent.exists() and os.path.exists(summary.paths[0])


def _break(db, report_id):
    # The marts changed under a saved definition (a column the contract dropped): the
    # definition was valid when saved, so the drift is simulated on the stored row.
    db.execute(text("UPDATE report_definitions SET sql = replace(sql, 'primary_role', "
                    "'dropped_column') WHERE id = :id"), {"id": report_id})
    db.commit()


def test_a_failing_export_alerts_its_owner_and_the_others_still_export(
        client, db, analyst, report, detail_report, make_user, auth_headers, tmp_path):
    from api.reports.models import ReportExportRun, ReportSubscription
    from api.reports.scheduled import run_due_exports
    from api.reports.settings import ExportSettings

    reader, _ = make_user(roles=["support"])
    broken = subscribe(client, auth_headers(reader), report["id"], cadence="daily",
                       format="pdf").json()
    fine = subscribe(client, auth_headers(reader), detail_report["id"], cadence="daily",
                     format="xlsx").json()
    _break(db, report["id"])

    summary = run_due_exports(db, "daily", NOW, tmp_path, settings=ExportSettings())
    assert (summary.exported, summary.failed) == (1, 1)
    assert summary.failures[0]["subscription_id"] == broken["id"]
    assert "dropped_column" in summary.failures[0]["error"]

    db.rollback()
    runs = {r.subscription_id: r for r in db.scalars(select(ReportExportRun).where(
        ReportExportRun.subscription_id.in_([broken["id"], fine["id"]])))}
    assert runs[broken["id"]].status == "failed" and runs[broken["id"]].file_path is None
    assert "dropped_column" in runs[broken["id"]].error
    assert runs[fine["id"]].status == "succeeded" and os.path.exists(runs[fine["id"]].file_path)
    assert not list(tmp_path.rglob("*.part"))

    alerts = [m for m in outbox(db, "reports.export_failed")
              if m.payload.get("subscription_id") == broken["id"]]
    owner = analyst[0]
    assert len(alerts) == 1 and alerts[0].recipient == owner.email
    assert alerts[0].user_id == owner.id and "dropped_column" in alerts[0].body
    # No "ready" email for the failed one; the failed one stays due and is retried.
    ready = [m for m in outbox(db, "reports.export_ready") if m.recipient == reader.email]
    assert [m.payload["export_run_id"] for m in ready] == [runs[fine["id"]].id]
    assert db.get(ReportSubscription, broken["id"]).last_exported_at is None
    assert run_due_exports(db, "daily", NOW, tmp_path, settings=ExportSettings()).failed == 1


@pytest.fixture(scope="module")
def dagster_defs():
    """Loading the code location is slow: once per module, and for the default warehouse
    folder, whose dbt manifest is reused from run to run (a temporary folder re-parses)."""
    from pathlib import Path

    old = os.environ.get("EHB_WAREHOUSE_DIR")
    os.environ["EHB_WAREHOUSE_DIR"] = str(
        (Path(os.environ.get("EHB_DATA_DIR", "data")) / "warehouse").resolve())
    try:
        from pipelines.definitions import defs
    finally:
        if old is None:
            os.environ.pop("EHB_WAREHOUSE_DIR", None)
        else:
            os.environ["EHB_WAREHOUSE_DIR"] = old
    return defs


def test_dagster_definitions_include_the_export_job_and_schedules(dagster_defs):
    from pipelines.exports import EXPORT_CRONS

    repo = dagster_defs.get_repository_def()
    job = repo.get_job("report_exports")
    assert job is not None
    schedules = {s.name: s for s in repo.schedule_defs if s.job_name == "report_exports"}
    assert set(schedules) == {"report_exports_daily", "report_exports_weekly",
                              "report_exports_monthly"}
    for cadence, cron in EXPORT_CRONS.items():
        schedule = schedules[f"report_exports_{cadence}"]
        assert schedule.cron_schedule == cron and schedule.execution_timezone == "UTC"
        # After the nightly full build (02:00 UTC).
        assert int(cron.split()[1]) >= 3
    assert EXPORT_CRONS["weekly"].split()[4] == "1" and EXPORT_CRONS["monthly"].split()[2] == "1"


def test_dagster_run_fails_red_with_metadata_when_an_export_fails(
        client, db, analyst, report, detail_report, make_user, auth_headers, tmp_path,
        monkeypatch):
    import dagster as dg

    from api.reports.settings import get_export_settings
    from pipelines.exports import report_exports

    monkeypatch.setenv("REPORTS_EXPORT_DEST_DIR", str(tmp_path))
    get_export_settings.cache_clear()
    try:
        reader, _ = make_user(roles=["analyst"])
        subscribe(client, auth_headers(reader), detail_report["id"], cadence="monthly")
        config = {"ops": {"export_due_reports": {"config": {"cadence": "monthly"}}}}
        ok = report_exports.execute_in_process(run_config=config)
        assert ok.success and ok.output_for_node("export_due_reports") == 1
        assert len(list(tmp_path.rglob("*.csv"))) == 1

        subscribe(client, auth_headers(reader), report["id"], cadence="monthly", format="pdf")
        _break(db, report["id"])
        failed = report_exports.execute_in_process(run_config=config, raise_on_error=False)
        assert not failed.success
        failure = [e for e in failed.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
        info = failure[0].step_failure_data.user_failure_data
        assert info.metadata["failed"].value == 1 and info.metadata["exported"].value == 0
    finally:
        get_export_settings.cache_clear()


def test_cli_run_due_exports_and_fails_on_a_failed_export(client, db, analyst, report,
                                                          detail_report, tmp_path):
    from typer.testing import CliRunner

    from api.cli import root

    subscribe(client, analyst[1], detail_report["id"], cadence="weekly", format="parquet")
    ok = CliRunner().invoke(root, ["reports", "run-due", "weekly", "--dest", str(tmp_path)])
    assert ok.exit_code == 0, ok.output
    assert "exported 1, failed 0" in ok.output and len(list(tmp_path.rglob("*.parquet"))) == 1
    subscribe(client, analyst[1], report["id"], cadence="weekly", format="csv")
    _break(db, report["id"])
    bad = CliRunner().invoke(root, ["reports", "run-due", "weekly", "--dest", str(tmp_path)])
    assert bad.exit_code == 1 and "exported 0, failed 1" in bad.output
    assert CliRunner().invoke(root, ["reports", "run-due", "hourly"]).exit_code == 2
