"""Scheduled report exports in Dagster: one job that exports the due subscriptions of a
cadence (the logic is api.reports.scheduled.run_due_exports), three schedules after the
nightly full build (02:00 UTC), retention after each run. A failed export fails the run (after
the others are exported) so it shows red in the UI, with the counts and paths as metadata."""

from typing import Literal

import dagster as dg

# The nightly full build starts at 02:00 UTC; exports read the snapshot it publishes.
EXPORT_CRONS = {"daily": "30 3 * * *", "weekly": "45 3 * * 1", "monthly": "0 4 1 * *"}


class ExportConfig(dg.Config):
    cadence: Literal["daily", "weekly", "monthly"] = "daily"


def _metadata(summary) -> dict:
    return {
        "cadence": summary.cadence,
        "exported": dg.MetadataValue.int(summary.exported),
        "failed": dg.MetadataValue.int(summary.failed),
        "paths": dg.MetadataValue.json(summary.paths),
        "failures": dg.MetadataValue.json(summary.failures),
        "removed_by_retention": dg.MetadataValue.int(len(summary.removed)),
    }


@dg.op(description="Export every due subscription of the cadence, email the files, apply "
                   "retention; fails when any export failed (their owners are alerted).")
def export_due_reports(context: dg.OpExecutionContext, config: ExportConfig) -> dg.Output[int]:
    from api.db import new_session
    from api.reports.scheduled import run_due_exports

    with new_session() as session:
        summary = run_due_exports(session, config.cadence)
    for failure in summary.failures:
        context.log.error(f"export failed: {failure}")
    if summary.failed:
        raise dg.Failure(description=f"{summary.failed} of {summary.exported + summary.failed} "
                                     f"{config.cadence} exports failed; owners were alerted",
                         metadata=_metadata(summary))
    return dg.Output(summary.exported, metadata=_metadata(summary))


@dg.job(description="Scheduled report exports for one cadence (see api.reports.scheduled).",
        executor_def=dg.in_process_executor)
def report_exports():
    export_due_reports()


export_schedules = [
    dg.ScheduleDefinition(
        name=f"report_exports_{cadence}", job=report_exports, cron_schedule=cron,
        execution_timezone="UTC",
        run_config={"ops": {"export_due_reports": {"config": {"cadence": cadence}}}},
        description=f"{cadence.capitalize()} report exports, after the nightly build")
    for cadence, cron in EXPORT_CRONS.items()
]
