"""The Dagster code location (workspace.yaml): raw ingestion with its GX gate, dbt models and
their tests, the published snapshot, schedules and freshness checks."""


import dagster as dg

from pipelines.dbt_assets import dbt_resource, ehb_dbt
from pipelines.raw_assets import FULL_REFRESH_TAG, raw_assets, reconcile_checks
from pipelines.warehouse import Warehouse

def _mart_keys() -> list[dg.AssetKey]:
    return sorted((k for k in ehb_dbt.keys if k.path[0] == "marts"), key=lambda k: k.path)


@dg.asset(key=dg.AssetKey(["serving", "warehouse_snapshot"]), group_name="serving",
          deps=_mart_keys(), kinds={"duckdb"},
          description="Read-only copy of the build file, published by atomic rename; "
                      "dashboards and the API read it through pipelines.snapshot.")
def warehouse_snapshot(warehouse: Warehouse) -> dg.MaterializeResult:
    from pipelines.snapshot import publish

    path = publish(warehouse.build_file(), warehouse.dir() / "snapshot.duckdb")
    return dg.MaterializeResult(metadata={"path": str(path), "bytes": path.stat().st_size})


everything = dg.AssetSelection.all()
incremental_job = dg.define_asset_job("ehb_incremental", selection=everything,
                                      executor_def=dg.in_process_executor)
full_job = dg.define_asset_job("ehb_full_refresh", selection=everything,
                               tags={FULL_REFRESH_TAG: "true"},
                               executor_def=dg.in_process_executor)


defs = dg.Definitions(
    assets=[*raw_assets, ehb_dbt, warehouse_snapshot],
    asset_checks=reconcile_checks,
    jobs=[incremental_job, full_job],
    schedules=[
        dg.ScheduleDefinition(job=incremental_job, cron_schedule="*/15 * * * *"),
        dg.ScheduleDefinition(job=full_job, cron_schedule="0 2 * * *"),
    ],
    resources={"warehouse": Warehouse(), "dbt": dbt_resource()},
    executor=dg.in_process_executor,
)
