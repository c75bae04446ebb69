"""Data quality page: the latest result of each Dagster asset check and the last runs, read
from a real Dagster instance storage (SQLite under a temporary DAGSTER_HOME) with Dagster
itself not running; bounded and cached; a missing instance is a notice, not an error."""

from __future__ import annotations

import dagster as dg
import pytest

from dashboards import pipeline_status
from dashboards.callbacks import Callbacks


@dg.asset(check_specs=[dg.AssetCheckSpec("rows_present", asset="orders_q"),
                       dg.AssetCheckSpec("amounts_positive", asset="orders_q")])
def orders_q(context):
    fail = context.run.tags.get("fail") == "yes"
    yield dg.Output(1)
    yield dg.AssetCheckResult(check_name="rows_present", passed=True,
                              metadata={"rows": 42})
    yield dg.AssetCheckResult(check_name="amounts_positive", passed=not fail,
                              severity=dg.AssetCheckSeverity.ERROR,
                              metadata={"negative_rows": 3 if fail else 0,
                                        "sample": dg.MetadataValue.json([1, 2])})


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    pipeline_status.clear_cache()
    yield home
    pipeline_status.clear_cache()


def _materialize(home, fail: bool):
    instance = dg.DagsterInstance.from_config(str(home))
    try:
        job = dg.define_asset_job("q_job", selection=[orders_q]).resolve(
            asset_graph=dg.Definitions(assets=[orders_q]).resolve_asset_graph())
        result = job.execute_in_process(instance=instance, tags={"fail": "yes" if fail else "no"},
                                        raise_on_error=False)
        return result.run_id
    finally:
        instance.dispose()


def test_reader_gives_the_latest_result_per_check_and_the_runs(dagster_home):
    first = _materialize(dagster_home, fail=False)
    second = _materialize(dagster_home, fail=True)
    st = pipeline_status.read_status(dagster_home)
    assert st.error is None
    by = {(c.asset, c.check): c for c in st.checks}
    assert set(by) == {("orders_q", "rows_present"), ("orders_q", "amounts_positive")}
    bad = by[("orders_q", "amounts_positive")]
    assert (bad.status, bad.severity) == ("failed", "ERROR")  # the latest, not the first
    assert "negative_rows=3" in bad.summary and "sample" not in bad.summary
    assert by[("orders_q", "rows_present")].status == "passed"
    assert st.checks[0] is bad  # failing first
    assert [r.run_id for r in st.runs] == [second, first]  # newest first
    assert all(r.status == "SUCCESS" and r.seconds is not None and r.seconds >= 0
               for r in st.runs)


def test_page_shows_checks_and_runs(signed_in, dagster_home):
    _materialize(dagster_home, fail=True)
    client, _ = signed_in(["analyst"])
    out = Callbacks(client).values("dq-check-kpis.children", {"dq-tick.n_intervals": 1})
    cards = {c["props"]["children"][0]["props"]["children"]:
             c["props"]["children"][1]["props"]["children"]
             for c in out["dq-check-kpis"]["children"]}
    assert cards["Checks passing"] == "1" and cards["Checks failing"] == "1"
    assert cards["Last run"].startswith("SUCCESS · ")
    fig = out["dq-checks"]["figure"]["data"]
    assert {t["name"]: sum(t["y"]) for t in fig} == {"passed": 1, "failed": 1, "running": 0,
                                                    "not run": 0}
    table = str(out["dq-check-table"]["children"])
    assert "amounts_positive" in table and "negative_rows=3" in table
    assert len(out["dq-runs"]["figure"]["data"][0]["x"]) == 1


def test_missing_instance_is_a_notice(signed_in, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "nowhere"))
    pipeline_status.clear_cache()
    client, _ = signed_in(["analyst"])
    out = Callbacks(client).values("dq-check-kpis.children", {"dq-tick.n_intervals": 1})
    assert "no Dagster instance" in str(out["dq-check-kpis"]["children"])
    assert not (tmp_path / "nowhere").exists()  # reading never creates an instance


def test_reads_are_cached(dagster_home):
    _materialize(dagster_home, fail=False)
    first = pipeline_status.status(dagster_home)
    _materialize(dagster_home, fail=True)
    assert pipeline_status.status(dagster_home) is first  # within CACHE_SECONDS
    pipeline_status.clear_cache()
    assert len(pipeline_status.status(dagster_home).runs) == 2


def test_a_check_whose_run_failed_before_it_shows_as_not_run(dagster_home):
    """A run that stopped before its checks ran leaves them planned, not passed or failed."""
    @dg.asset(check_specs=[dg.AssetCheckSpec("never_ran", asset="broken_q")])
    def broken_q():
        raise RuntimeError("the step fails before its check")

    instance = dg.DagsterInstance.from_config(str(dagster_home))
    try:
        job = dg.define_asset_job("b_job", selection=[broken_q]).resolve(
            asset_graph=dg.Definitions(assets=[broken_q]).resolve_asset_graph())
        assert not job.execute_in_process(instance=instance, raise_on_error=False).success
    finally:
        instance.dispose()
    st = pipeline_status.read_status(dagster_home)
    assert st.error is None
    assert [(c.check, c.status, c.severity) for c in st.checks] == [("never_ran", "not run", "")]
    assert st.runs[0].status == "FAILURE"


def test_an_old_result_is_served_at_once_while_a_new_read_runs(dagster_home, monkeypatch):
    _materialize(dagster_home, fail=False)
    first = pipeline_status.status(dagster_home)
    _materialize(dagster_home, fail=True)
    monkeypatch.setattr(pipeline_status, "CACHE_SECONDS", 0.0)
    assert pipeline_status.status(dagster_home, timeout=0) is first  # stale, not waited for
    import time

    deadline = time.monotonic() + 30  # the background read stores its result when done
    newer = first
    while newer is first and time.monotonic() < deadline:
        time.sleep(0.05)
        newer = pipeline_status.status(dagster_home, timeout=0)
    assert len(newer.runs) == 2 and len(first.runs) == 1
