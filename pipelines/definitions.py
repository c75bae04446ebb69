"""The Dagster code location (workspace.yaml): raw ingestion with its GX gate, dbt models and
their tests, the published snapshot, schedules, the on-demand refresh sensor; freshness
policies sit on the assets."""

import dagster as dg

from pipelines.dbt_assets import SNAPSHOT_KEY, dbt_resource, ehb_dbt
from pipelines.exports import export_schedules, report_exports
from pipelines.raw_assets import FULL_REFRESH_TAG, raw_assets
from pipelines.refresh import refresh_sensor
from pipelines.warehouse import Warehouse


def _mart_keys() -> list[dg.AssetKey]:
    return sorted((k for k in ehb_dbt.keys if k.path[0] == "marts"), key=lambda k: k.path)


# Published by the dbt step when its build succeeds (see pipelines.dbt_assets): declared here so
# the graph shows what readers get.
warehouse_snapshot = dg.AssetSpec(
    SNAPSHOT_KEY, deps=_mart_keys(), group_name="serving", kinds={"duckdb"},
    description="Read-only copy of the build file, published by atomic rename; dashboards and "
                "the API read it through pipelines.snapshot (see MARTS.md).")

everything = dg.AssetSelection.all() - dg.AssetSelection.assets(SNAPSHOT_KEY)
incremental_job = dg.define_asset_job("ehb_incremental", selection=everything,
                                      executor_def=dg.in_process_executor)
full_job = dg.define_asset_job("ehb_full_refresh", selection=everything,
                               tags={FULL_REFRESH_TAG: "true"},
                               executor_def=dg.in_process_executor)

defs = dg.Definitions(
    assets=[*raw_assets, ehb_dbt, warehouse_snapshot],
    jobs=[incremental_job, full_job, report_exports],
    schedules=[
        dg.ScheduleDefinition(job=incremental_job, cron_schedule="*/15 * * * *"),
        dg.ScheduleDefinition(job=full_job, cron_schedule="0 2 * * *"),
        *export_schedules,
    ],
    sensors=[refresh_sensor(incremental_job, full_job)],
    resources={"warehouse": Warehouse(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,
)
