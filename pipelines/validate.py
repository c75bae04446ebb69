"""The Great Expectations gate on every ingested batch.

GX runs on its pandas data source over bounded chunks of the batch (rows written to raw.<t> by
this batch), because GX on DuckDB through SQLAlchemy returns an exception for every
expectation. Checks that need the whole table (uniqueness, parents, per-transaction sums) are
computed by DuckDB as helper columns of the chunk, and GX checks those columns. Failing rows are
recorded in ops.quarantine with the expectation and the batch; `open_quarantine` counts rows
still in raw in the version that failed, which is what blocks the marts.

great_expectations is imported only inside this module's functions (import takes ~10 s).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import lru_cache

import duckdb

from pipelines.tables import Table

log = logging.getLogger("ehb.pipelines")
CHUNK_ROWS = 100_000


@dataclass
class ExpectationOutcome:
    name: str
    success: bool
    unexpected: int = 0
    error: str | None = None


@dataclass
class ValidationReport:
    table: str
    batch_id: str
    rows: int = 0
    outcomes: dict[str, ExpectationOutcome] = field(default_factory=dict)
    quarantined: int = 0
    open_quarantine: int = 0

    @property
    def success(self) -> bool:
        return self.open_quarantine == 0 and all(o.error is None for o in self.outcomes.values())


@lru_cache(maxsize=1)
def _context():
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    ctx = gx.get_context(mode="ephemeral")
    ctx.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    ctx.data_sources.add_pandas("ehb_raw")
    return ctx


def _derived(table: Table) -> tuple[list[str], list[tuple[str, object]]]:
    """SQL helper columns + the (label, expectation) pairs that check them."""
    import great_expectations as gx

    E = gx.expectations
    cols: list[str] = []
    exps: list[tuple[str, object]] = []
    for check in table.checks:
        kind, args = check[0], check[1:]
        if kind == "not_null":
            for c in args:
                exps.append((f"not_null({c})", E.ExpectColumnValuesToNotBeNull(column=c)))
        elif kind == "in_set":
            exps.append((f"in_set({args[0]})",
                         E.ExpectColumnValuesToBeInSet(column=args[0], value_set=list(args[1]))))
        elif kind == "between":
            c, lo, hi = args
            exps.append((f"between({c})",
                         E.ExpectColumnValuesToBeBetween(column=c, min_value=lo, max_value=hi)))
        elif kind == "match":
            exps.append((f"match({args[0]})",
                         E.ExpectColumnValuesToMatchRegex(column=args[0], regex=args[1])))
        elif kind == "unique":  # across the whole raw table, not just this batch
            c = args[0]
            cols.append(f'(SELECT count(*) FROM raw."{table.name}" x WHERE x."{c}" = r."{c}") '
                        f'AS "_copies_{c}"')
            exps.append((f"unique({c})", E.ExpectColumnValuesToBeBetween(
                column=f"_copies_{c}", min_value=0, max_value=1)))
        elif kind == "sum_zero":
            g, amount = args
            cols.append(f'(SELECT sum(x."{amount}") FROM raw."{table.name}" x '
                        f'WHERE x."{g}" = r."{g}") AS "_sum_{amount}_per_{g}"')
            exps.append((f"sum_zero({amount} per {g})", E.ExpectColumnValuesToBeBetween(
                column=f"_sum_{amount}_per_{g}", min_value=0, max_value=0)))
        else:
            raise ValueError(f"unknown check {kind!r} on {table.name}")
    for c, parent in table.parents.items():
        cols.append(f'(r."{c}" IS NULL OR EXISTS (SELECT 1 FROM raw."{parent}" p '
                    f'WHERE p.id = r."{c}"))::INTEGER AS "_parent_{c}"')
        exps.append((f"parent({c} -> {parent})", E.ExpectColumnValuesToBeInSet(
            column=f"_parent_{c}", value_set=[1])))
    return cols, exps


def validate_batch(con: duckdb.DuckDBPyConnection, table: Table, batch_id: str,
                   chunk_rows: int = CHUNK_ROWS) -> ValidationReport:
    import great_expectations as gx

    ctx = _context()
    report = ValidationReport(table.name, batch_id)
    derived, exps = _derived(table)
    suite_name = f"raw_{table.name}"
    try:
        suite = ctx.suites.get(suite_name)
    except Exception:  # not registered in this process yet
        suite = gx.ExpectationSuite(name=suite_name)
        for _, exp in exps:
            suite.add_expectation(exp)
        suite = ctx.suites.add(suite)
    # GX does not keep the suite's order in its results: map them back by (type, kwargs)
    labels = {_config_key(exp.configuration): label for label, exp in exps}
    for label, _ in exps:
        report.outcomes[label] = ExpectationOutcome(label, True)
    source = ctx.data_sources.get("ehb_raw")
    try:
        asset = source.get_asset(table.name)
    except LookupError:
        asset = source.add_dataframe_asset(table.name)
    try:
        batch_def = asset.get_batch_definition("batch")
    except (KeyError, LookupError):
        batch_def = asset.add_batch_definition_whole_dataframe("batch")
    extra = "".join(", " + c for c in derived)
    pk = table.pk
    offset = 0
    failed: dict[str, set] = {}
    while True:
        df = con.execute(
            f'SELECT r.*{extra} FROM raw."{table.name}" r WHERE r._batch_id = ? '
            f'ORDER BY r."{pk}" LIMIT {chunk_rows} OFFSET {offset}', [batch_id]).df()
        if df.empty:
            break
        offset += len(df)
        report.rows += len(df)
        batch = batch_def.get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(suite, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": [pk]})
        for res in result.results:
            label = labels[_config_key(res.expectation_config)]
            outcome = report.outcomes[label]
            if res.exception_info.get("raised_exception"):
                outcome.success = False
                outcome.error = str(res.exception_info.get("exception_message"))[:300]
                continue
            if not res.success:
                outcome.success = False
                ids = {row[pk] for row in res.result.get("unexpected_index_list") or []}
                outcome.unexpected += len(ids)
                failed.setdefault(label, set()).update(ids)
        if len(df) < chunk_rows:
            break
    for label, ids in failed.items():
        if not ids:
            continue
        con.execute("CREATE OR REPLACE TEMP TABLE _bad (pk VARCHAR)")
        con.executemany("INSERT INTO _bad VALUES (?)", [[str(i)] for i in ids])
        con.execute(
            f"INSERT INTO ops.quarantine SELECT ?, ?, CAST(r.\"{pk}\" AS VARCHAR), ?, "
            f"CAST(to_json(r) AS VARCHAR), now() FROM raw.\"{table.name}\" r "
            f"JOIN _bad b ON CAST(r.\"{pk}\" AS VARCHAR) = b.pk WHERE r._batch_id = ?",
            [batch_id, table.name, label, batch_id])
        report.quarantined += len(ids)
    report.open_quarantine = open_quarantine(con, table)
    log.info("validated %s batch %s: %d rows, %d quarantined, %d open", table.name, batch_id,
             report.rows, report.quarantined, report.open_quarantine)
    return report


def _config_key(config) -> tuple:
    kwargs = {k: v for k, v in config.kwargs.items()
              if k in ("column", "value_set", "min_value", "max_value", "regex")}
    return (config.type, repr(sorted(kwargs.items())))


def open_quarantine(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    """Quarantined rows still present in raw in the version that failed (not yet corrected)."""
    return con.execute(
        f"SELECT count(DISTINCT q.row_pk) FROM ops.quarantine q JOIN raw.\"{table.name}\" r "
        f"ON CAST(r.\"{table.pk}\" AS VARCHAR) = q.row_pk AND r._batch_id = q.batch_id "
        "WHERE q.table_name = ?", [table.name]).fetchone()[0]
