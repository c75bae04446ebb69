"""One Dagster asset per operational table (pipelines.tables.TABLES), each with two asset checks
evaluated in the same step, right after the batch lands: its Great Expectations gate and a daily
reconciliation against PostgreSQL. (Separate check steps cost ~0.7 s each, 29 of them per run,
mostly Dagster's per-step events.)"""


from datetime import timedelta

import dagster as dg
from dagster import AssetExecutionContext

from pipelines.tables import TABLES, Table
from pipelines.warehouse import Warehouse

FULL_REFRESH_TAG = "ehb/full_refresh"


def raw_key(table: Table) -> dg.AssetKey:
    return dg.AssetKey(["raw", table.name])


def _raw_asset(table: Table) -> dg.AssetsDefinition:
    key = raw_key(table)
    parent_keys = sorted({dg.AssetKey(["raw", p]) for p in table.parents.values()
                          if p != table.name}, key=lambda k: k.path)

    @dg.asset(
        key=key, group_name="raw", kinds={"duckdb", "postgres"},
        freshness_policy=dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=2)),
        deps=parent_keys,  # parents first, so referential checks see them
        description=f"PostgreSQL `{table.name}` merged incrementally on `{table.pk}` "
                    f"(cursor `{table.cursor}`), validated by Great Expectations.",
        check_specs=[
            dg.AssetCheckSpec(
                "gx_suite", asset=key,
                description="Great Expectations suite on the ingested batch; failing rows go to "
                            "ops.quarantine and keep this table's downstream dbt models from "
                            "building."),
            dg.AssetCheckSpec("reconcile_daily", asset=key, description=_reconcile_text(table)),
        ],
    )
    def _asset(context: AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        from pipelines.ingest import ingest_table
        from pipelines.reconcile import reconcile_daily
        from pipelines.validate import validate_batch

        full = context.run.tags.get(FULL_REFRESH_TAG) == "true"
        # the run id's first 12 hex digits: its 8-digit prefix as the UI shows it, and at most
        # 12 bytes, which DuckDB stores inline in every row (a longer id cost a fifth of writing
        # and committing an incremental's rows)
        batch_id = context.run_id.replace("-", "")[:12]
        with warehouse.connect() as con:
            res = ingest_table(con, warehouse.source_url(), table, full_refresh=full,
                               batch_id=batch_id)
            report = validate_batch(con, table, res.batch_id)
            diffs, days = reconcile_daily(con, warehouse.source_url(), table)
        check_meta: dict = {
            "batch_id": res.batch_id, "rows_validated": report.rows,
            "quarantined_this_batch": report.quarantined,
            "released_this_run": report.released,
            "superseded_this_run": report.superseded,
            "requarantined_this_run": report.requarantined,
            "open_quarantine": report.open_quarantine,
        }
        for outcome in report.outcomes.values():
            check_meta[f"unexpected {outcome.name}"] = outcome.unexpected
            if outcome.error:
                check_meta[f"error {outcome.name}"] = outcome.error
        return dg.MaterializeResult(
            metadata={
                "mode": res.mode, "batch_id": res.batch_id, "rows_read": res.rows_read,
                "rows_written": res.rows_written, "rows_deleted": res.rows_deleted,
                "rows_compacted": res.compacted,
                "seconds": round(res.seconds, 3), "dagster/row_count": res.raw_rows,
            },
            check_results=[
                dg.AssetCheckResult(check_name="gx_suite", passed=report.success,
                                    severity=dg.AssetCheckSeverity.ERROR, metadata=check_meta),
                dg.AssetCheckResult(
                    check_name="reconcile_daily", passed=not diffs,
                    metadata={"days_compared": days, "days_different": len(diffs),
                              "first_differences": dg.MetadataValue.json(diffs[:10])}),
            ],
        )

    return _asset


def _reconcile_text(table: Table) -> str:
    date_col, money_col = table.reconcile
    return (f"Per day of `{date_col}`: row count"
            + (f" and sum of `{money_col}`" if money_col else "") + " in raw equal PostgreSQL.")


raw_assets = [_raw_asset(t) for t in TABLES]
