"""The on-demand refresh sensor: a request (`ehb pipeline refresh`) yields one run request, no
request yields none, and a handled request does not run twice."""

from __future__ import annotations

import dagster as dg
import pytest

from pipelines.refresh import request_refresh


@pytest.fixture
def sensor(tmp_path, monkeypatch):
    monkeypatch.setenv("EHB_WAREHOUSE_DIR", str(tmp_path))
    from pipelines.definitions import defs

    return defs.resolve_sensor_def("refresh_requests")


def _evaluate(sensor, cursor=None):
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, cursor=cursor)
        return sensor.evaluate_tick(context)


def test_no_request_no_run(sensor):
    result = _evaluate(sensor)
    assert result.run_requests == []
    assert "no refresh requested" in (result.skip_message or "")


def test_request_yields_one_incremental_run_once(sensor):
    request_refresh(requested_by="ops")
    request_refresh(requested_by="ana")
    result = _evaluate(sensor)
    assert len(result.run_requests) == 1  # requests between two ticks: one run
    run = result.run_requests[0]
    assert run.job_name == "ehb_incremental"
    assert run.tags["ehb/requested_by"] == "ana, ops"
    again = _evaluate(sensor, cursor=result.cursor)
    assert again.run_requests == []
    request_refresh(full=True)
    full = _evaluate(sensor, cursor=result.cursor)
    assert [r.job_name for r in full.run_requests] == ["ehb_full_refresh"]
    assert full.run_requests[0].run_key != run.run_key


def test_cli_writes_a_request(sensor):
    from typer.testing import CliRunner

    from api.cli import root as app

    out = CliRunner().invoke(app, ["pipeline", "refresh", "--full"])
    assert out.exit_code == 0, out.output
    result = _evaluate(sensor)
    assert [r.job_name for r in result.run_requests] == ["ehb_full_refresh"]


def test_serve_loop_runs_requests_and_the_interval(tmp_path, monkeypatch):
    """`ehb pipeline serve` (make run starts no Dagster daemon): requests made before it started
    are covered by its first run; a new request runs within a poll, a full one as full; the
    interval's incremental run comes `interval` seconds after the last run."""
    from pipelines.refresh import ServePoller

    monkeypatch.setenv("EHB_WAREHOUSE_DIR", str(tmp_path))
    now = [1000.0]
    request_refresh(requested_by="before")
    poller = ServePoller(60, clock=lambda: now[0])
    assert poller.next_run() is None

    request_refresh(requested_by="ops")
    run = poller.next_run()
    assert (run.full, run.requested_by, run.count) == (False, ["ops"], 1)
    assert poller.next_run() is None

    now[0] += 30
    request_refresh(requested_by="ana", full=True)
    request_refresh(requested_by="ops")
    run = poller.next_run()
    assert (run.full, run.requested_by, run.count) == (True, ["ana", "ops"], 2)

    now[0] += 59  # 59 s after the last run: not due yet
    assert poller.next_run() is None
    now[0] += 1
    run = poller.next_run()
    assert (run.full, run.requested_by) == (False, ["schedule"])
    assert poller.next_run() is None
