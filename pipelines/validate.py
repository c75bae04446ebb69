"""The Great Expectations gate on every ingested batch.

GX runs on its pandas data source over bounded chunks of the batch (rows written to raw.<t> by
this batch), because GX on DuckDB through SQLAlchemy returns an exception for every
expectation. Checks that need the whole table (uniqueness, parents, per-transaction sums) are
computed by DuckDB as helper columns of the chunk, and GX checks those columns. Failing rows are
recorded in ops.quarantine with the expectation and the batch. Each validation also re-runs the
suite on the table's still-open quarantined rows of earlier batches: a row whose parent arrived
in a later batch passes now, and its records get `released_at` (never deleted). Records whose
row version left raw (corrected or deleted at the source) are released as 'superseded'.
`open_quarantine` counts rows still in raw in the version that failed with a record not
released, which is what blocks the marts.

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
    released: int = 0        # records of earlier batches whose expectation now passes
    superseded: int = 0      # records whose row version left raw (changed or deleted)
    requarantined: int = 0   # re-checked open rows failing an expectation they had passed
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
    report = ValidationReport(table.name, batch_id)
    suite, labels, derived = _suite(table)
    for label in labels.values():
        report.outcomes[label] = ExpectationOutcome(label, True)
    failed = _run_suite(con, table, suite, labels, derived, report.outcomes,
                        "r._batch_id = ?", [batch_id], chunk_rows)
    report.rows = failed.pop(_ROWS)
    for label, ids in failed.items():
        report.quarantined += _quarantine(con, table, label, ids, "r._batch_id = ?",
                                          [batch_id])
    report.superseded = _release_superseded(con, table, batch_id)
    report.released, report.requarantined = _recheck_open(con, table, batch_id, suite, labels,
                                                          derived, report, chunk_rows)
    report.open_quarantine = open_quarantine(con, table)
    log.info("validated %s batch %s: %d rows, %d quarantined, %d released, %d open",
             table.name, batch_id, report.rows, report.quarantined, report.released,
             report.open_quarantine)
    return report


_ROWS = object()  # key of the row count in _run_suite's answer


def _suite(table: Table):
    """The table's GX suite (registered once per process), label by (type, kwargs), helper SQL."""
    import great_expectations as gx

    ctx = _context()
    derived, exps = _derived(table)
    suite_name = f"raw_{table.name}"
    try:
        suite = ctx.suites.get(suite_name)
    except Exception:  # noqa: BLE001 (GX raises various types: not registered yet)
        suite = gx.ExpectationSuite(name=suite_name)
        for _, exp in exps:
            suite.add_expectation(exp)
        suite = ctx.suites.add(suite)
    # GX does not keep the suite's order in its results: map them back by (type, kwargs)
    labels = {_config_key(exp.configuration): label for label, exp in exps}
    return suite, labels, derived


def _run_suite(con, table: Table, suite, labels: dict, derived: list[str],
               outcomes: dict[str, ExpectationOutcome], where: str, params: list,
               chunk_rows: int) -> dict:
    """Validate the raw rows matching `where` in bounded chunks; failing pks per label."""
    source = _context().data_sources.get("ehb_raw")
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
    failed: dict = {_ROWS: 0}
    while True:
        df = con.execute(
            f'SELECT r.*{extra} FROM raw."{table.name}" r WHERE {where} '
            f'ORDER BY r."{pk}" LIMIT {chunk_rows} OFFSET {offset}', params).df()
        if df.empty:
            break
        offset += len(df)
        failed[_ROWS] += len(df)
        batch = batch_def.get_batch(batch_parameters={"dataframe": df})
        result = batch.validate(suite, result_format={
            "result_format": "COMPLETE", "unexpected_index_column_names": [pk]})
        for res in result.results:
            label = labels[_config_key(res.expectation_config)]
            outcome = outcomes[label]
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
    return {k: v for k, v in failed.items() if k is _ROWS or v}


def _quarantine(con, table: Table, label: str, ids: set, where: str, params: list) -> int:
    """Record the raw rows (pk in ids, matching `where`) as failing `label`, in the batch each
    row's version came in; a row already open for the same expectation is not recorded twice.
    Returns the records added."""
    pk = table.pk
    con.execute("CREATE OR REPLACE TEMP TABLE _bad (pk VARCHAR)")
    con.executemany("INSERT INTO _bad VALUES (?)", [[str(i)] for i in ids])
    return con.execute(
        "INSERT INTO ops.quarantine (batch_id, table_name, row_pk, expectation, row_json, "
        f"quarantined_at) SELECT r._batch_id, ?, b.pk, ?, CAST(to_json(r) AS VARCHAR), now() "
        f"FROM raw.\"{table.name}\" r JOIN _bad b ON CAST(r.\"{pk}\" AS VARCHAR) = b.pk "
        f"WHERE {where} AND NOT EXISTS (SELECT 1 FROM ops.quarantine q WHERE "
        "q.table_name = ? AND q.row_pk = b.pk AND q.batch_id = r._batch_id "
        "AND q.expectation = ? AND q.released_at IS NULL)",
        [table.name, label, *params, table.name, label]).fetchone()[0]


def _release_superseded(con, table: Table, batch_id: str) -> int:
    """Open records whose row version left raw (changed or deleted at the source): released,
    so `released_at IS NULL` means open for every reader of ops.quarantine."""
    return con.execute(
        "UPDATE ops.quarantine q SET released_at = now(), release_reason = 'superseded', "
        "released_by_batch = ? WHERE q.table_name = ? AND q.released_at IS NULL AND NOT EXISTS "
        f"(SELECT 1 FROM raw.\"{table.name}\" r WHERE CAST(r.\"{table.pk}\" AS VARCHAR) = "
        "q.row_pk AND r._batch_id = q.batch_id)", [batch_id, table.name]).fetchone()[0]


def _recheck_open(con, table: Table, batch_id: str, suite, labels: dict, derived: list[str],
                  report: ValidationReport, chunk_rows: int) -> tuple[int, int]:
    """Re-run the whole suite on the still-open quarantined rows of earlier batches (a parent
    that arrived later, a duplicate since removed): records whose expectation now passes are
    released, with the time and the batch that released them; history is never deleted.
    An expectation that raised is not taken as passing. Returns (released, newly failing)."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE _recheck AS SELECT DISTINCT row_pk AS pk, batch_id "
        "FROM ops.quarantine WHERE table_name = ? AND released_at IS NULL AND batch_id <> ?",
        [table.name, batch_id])
    if not con.execute("SELECT count(*) FROM _recheck").fetchone()[0]:
        return 0, 0
    outcomes = {label: ExpectationOutcome(label, True) for label in labels.values()}
    where = (f"EXISTS (SELECT 1 FROM _recheck k WHERE k.pk = CAST(r.\"{table.pk}\" AS VARCHAR) "
             "AND k.batch_id = r._batch_id)")
    failed = _run_suite(con, table, suite, labels, derived, outcomes, where, [], chunk_rows)
    failed.pop(_ROWS)
    con.execute("CREATE OR REPLACE TEMP TABLE _still (pk VARCHAR, expectation VARCHAR)")
    still = [[str(i), label] for label, ids in failed.items() for i in ids]
    if still:
        con.executemany("INSERT INTO _still VALUES (?, ?)", still)
    for o in outcomes.values():
        if o.error:  # an expectation that raised is unknown, not passed: its records stay open
            con.execute("INSERT INTO _still SELECT pk, ? FROM _recheck", [o.name])
    released = con.execute(
        "UPDATE ops.quarantine q SET released_at = now(), release_reason = 'passed', "
        "released_by_batch = ? FROM _recheck k WHERE q.table_name = ? AND q.released_at IS NULL "
        "AND q.row_pk = k.pk AND q.batch_id = k.batch_id AND NOT EXISTS (SELECT 1 FROM _still s "
        "WHERE s.pk = q.row_pk AND s.expectation = q.expectation)",
        [batch_id, table.name]).fetchone()[0]
    newly = 0
    for label, ids in failed.items():  # e.g. a duplicate that arrived since: recorded too
        newly += _quarantine(con, table, label, ids, where, [])
    for o in outcomes.values():
        if o.error and report.outcomes[o.name].error is None:
            report.outcomes[o.name].error = f"re-check: {o.error}"
    return released, newly


def _config_key(config) -> tuple:
    kwargs = {k: v for k, v in config.kwargs.items()
              if k in ("column", "value_set", "min_value", "max_value", "regex")}
    return (config.type, repr(sorted(kwargs.items())))


def open_quarantine(con: duckdb.DuckDBPyConnection, table: Table) -> int:
    """Quarantined rows still present in raw in the version that failed, with an expectation
    not yet released by a re-check (not corrected, not fixed by a later batch)."""
    return con.execute(
        f"SELECT count(DISTINCT q.row_pk) FROM ops.quarantine q JOIN raw.\"{table.name}\" r "
        f"ON CAST(r.\"{table.pk}\" AS VARCHAR) = q.row_pk AND r._batch_id = q.batch_id "
        "WHERE q.table_name = ? AND q.released_at IS NULL", [table.name]).fetchone()[0]
