"""The incremental half of ingestion: the rows changed since the watermark, merged into raw.

Merge on read: `raw.<t>` is a view over two tables, `raw_base.<t>` (the last full load or
compaction) and `raw_delta.<t>` (the newest version of every key changed since, or a tombstone
for a deleted key; one row per key). The view is base minus the delta's keys plus the delta's
live rows. An incremental run writes only the small delta table: deleting a 1% change's old
versions in place, scattered over a 5M-row base, cost a quarter of the run (the delete marks
every row group, and the commit logs it). The delta is folded into base when it passes
COMPACT_FRACTION of raw's rows; a full refresh starts from an empty one.

Rows with cursor > watermark - lookback are staged. Only staged rows inside that lookback window
can already be in raw as the same version: they are found from raw's rows in the window (a
filtered scan of the cursor column) and left alone, so a rerun writes nothing."""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future, wait
from contextlib import contextmanager
from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.pg_source import lit
from pipelines.tables import Table

LOOKBACK = timedelta(minutes=10)   # late-committing transactions are re-read
LOOKBACK_IDS = 10_000               # the same for append-only tables keyed by id
STAGE_ARROW_BYTES = 64 << 20        # a delta up to this size is staged as Arrow, no copy
COMPACT_FRACTION = 0.10             # fold the delta into base past 10% of raw's rows ...
COMPACT_MIN_ROWS = 10_000           # ... and past this many (small tables: not every run)
SCHEMAS = "CREATE SCHEMA IF NOT EXISTS raw_base; CREATE SCHEMA IF NOT EXISTS raw_delta;"


def view_of(table: Table) -> str:
    return f'raw."{table.name}"'


def base_of(table: Table, suffix: str = "") -> str:
    """raw_base.<t>; `suffix` "__full": the table a full load fills before it becomes base."""
    return f'raw_base."{table.name}{suffix}"'


def delta_of(table: Table) -> str:
    return f'raw_delta."{table.name}"'


def create_delta(con, table: Table) -> None:
    """An empty delta table shaped like base, plus the tombstone flag; and the view over both."""
    con.execute(f"CREATE OR REPLACE TABLE {delta_of(table)} AS "
                f"SELECT *, false AS _deleted FROM {base_of(table)} LIMIT 0")
    create_view(con, table)


def create_view(con, table: Table) -> None:
    """(Re)create raw.<t>; a view's columns are fixed when it is created."""
    pk = f'"{table.pk}"'
    con.execute(f"CREATE OR REPLACE VIEW {view_of(table)} AS "
                f"SELECT b.* FROM {base_of(table)} b ANTI JOIN {delta_of(table)} d "
                f"ON d.{pk} = b.{pk} UNION ALL BY NAME "
                f"SELECT * EXCLUDE (_deleted) FROM {delta_of(table)} WHERE NOT _deleted")


@contextmanager
def registered(con, name: str, data):
    """`data` (Arrow) visible to DuckDB as `name` for the block."""
    con.register(name, data)
    try:
        yield
    finally:
        con.unregister(name)


def in_thread(fn, *args) -> Future:
    """fn(*args) on a thread of its own, its result or exception delivered by the Future."""
    fut: Future = Future()

    def run() -> None:
        try:
            fut.set_result(fn(*args))
        except BaseException as exc:  # noqa: BLE001 (raised to the caller by fut.result())
            fut.set_exception(exc)

    threading.Thread(target=run, name=getattr(fn, "__name__", "ingest"), daemon=True).start()
    return fut


def delta_where(table: Table, wm) -> str:
    """The rows after the watermark minus the lookback ("" = every row)."""
    cursor_ts, cursor_id = wm
    col = f'"{table.cursor}"'
    if table.append_only:
        return f"{col} > {int(cursor_id or 0) - LOOKBACK_IDS}"
    if not cursor_ts:
        return ""
    return (f"{col} > {lit(cursor_ts)}::timestamptz - interval "
            f"'{int(LOOKBACK.total_seconds())} seconds'")


def stage_delta(con, reader, extra: str, cursor: str) -> tuple[int, object]:
    """The delta as the view `_stage`: (rows, highest `cursor` value or None). Up to
    STAGE_ARROW_BYTES it stays in Arrow (DuckDB scans it in place); a bigger one streams into a
    DuckDB temp table, which spills to disk rather than holding the whole delta in memory."""
    batches, size = [], 0
    for batch in reader:
        batches.append(batch)
        size += batch.nbytes
        if size > STAGE_ARROW_BYTES:
            with registered(con, "_delta", pa.RecordBatchReader.from_batches(
                    reader.schema, itertools.chain(batches, reader))):
                rows = con.execute("CREATE OR REPLACE TEMP TABLE _stage_rows AS "
                                   f"SELECT *, {extra} FROM _delta").fetchall()[0][0]
            con.execute("CREATE OR REPLACE TEMP VIEW _stage AS SELECT * FROM _stage_rows")
            return rows, con.execute(f'SELECT max("{cursor}") FROM _stage').fetchall()[0][0]
    delta = pa.Table.from_batches(batches, reader.schema)
    con.register("_delta", delta)
    con.execute(f"CREATE OR REPLACE TEMP VIEW _stage AS SELECT *, {extra} FROM _delta")
    return delta.num_rows, pc.max(delta.column(cursor)).as_py()


def drop_stage(con) -> None:
    """Temp objects would hold the delta's memory until the connection closes."""
    con.execute("DROP VIEW IF EXISTS _stage; DROP TABLE IF EXISTS _stage_rows")
    con.unregister("_delta")


def read_deletes(pg, table_name: str, since):
    """Primary keys (as text) deleted since the watermark minus the lookback, as Arrow."""
    where = (f" AND deleted_at > {lit(since)}::timestamptz - interval "
             f"'{int(LOOKBACK.total_seconds())} seconds'") if since else ""
    with pg.cursor() as cur:
        cur.execute("SELECT row_pk #>> '{}' AS pk, deleted_at FROM ops_deleted_rows "
                    f"WHERE table_name = {lit(table_name)}{where}")
        return cur.fetch_arrow_table()


def add_new_columns(con, table: Table, stage: str, names: list[str]) -> dict[str, str]:
    """A migration added a column (`names`: the stage's columns): add it to base and delta
    (older rows get NULL) and re-create the view. Returns raw's types."""
    def columns(name):
        return {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}

    have = columns(view_of(table))
    if all(name in have for name in names):
        return have
    new = {col: typ for col, typ in columns(stage).items() if col not in have}
    for col, typ in new.items():
        for target in (base_of(table), delta_of(table)):
            con.execute(f'ALTER TABLE {target} ADD COLUMN "{col}" {typ}')
    create_view(con, table)
    return have | new


def window_versions(cur, table: Table, raw: str, wm):
    """Key and version of raw's rows inside the lookback window of watermark `wm`: a staged row
    equal to a raw row has the same cursor value, so only these can be. Runs on its own DuckDB
    cursor (closed here), while the delta streams in."""
    try:
        window = delta_where(table, wm)
        version = "" if table.append_only else ", updated_at"
        return cur.sql(f'SELECT "{table.pk}" AS _pk{version} FROM {raw}'
                       + (f" WHERE {window}" if window else "")).to_arrow_table()
    finally:
        cur.close()


def _replace_in_delta(con, table: Table, keys: str, rows: str) -> int:
    """Delta rows `rows` (a query with raw's columns plus _deleted) in place of any delta row
    with a key in `keys` (a query of one column)."""
    pk, dlt = f'"{table.pk}"', delta_of(table)
    con.execute(f"DELETE FROM {dlt} WHERE {pk} IN ({keys})")
    return con.execute(f"INSERT INTO {dlt} BY NAME {rows}").fetchall()[0][0]


def merge(con, table: Table, window) -> tuple[int, int]:
    """Stage -> raw on the primary key: (rows written, old versions they replaced). `window`:
    window_versions(); a staged row equal to one of its rows is left alone. Append-only tables
    go straight to base: their rows never change."""
    pk = f'"{table.pk}"'
    same_version = "" if table.append_only else " AND w.updated_at = s.updated_at"
    with registered(con, "_window", window):
        changed = con.sql(f"SELECT s.{pk} AS _pk FROM _stage s ANTI JOIN _window w "
                          f"ON w._pk = s.{pk}{same_version}").to_arrow_table()
    with registered(con, "_changed", changed):
        new_rows = f"SELECT s.* FROM _stage s SEMI JOIN _changed c ON c._pk = s.{pk}"
        if table.append_only:
            return con.execute(f"INSERT INTO {base_of(table)} BY NAME {new_rows}"
                               ).fetchall()[0][0], 0
        # raw's kept row count needs how many changed keys raw holds now: a scan of base's
        # key, run on a second cursor (it reads the committed base and delta, as they were
        # before this run) while this one writes the delta
        counting = in_thread(_count_present, con.cursor(), table, changed)
        try:
            written = _replace_in_delta(con, table, "SELECT _pk FROM _changed",
                                        f"SELECT *, false AS _deleted FROM ({new_rows})")
        finally:
            wait([counting])  # its cursor is closed before anything else runs
    return written, counting.result()


def _count_present(cur, table: Table, keys) -> int:
    """How many of `keys` (Arrow, column _pk) raw holds, on cursor `cur` (closed here)."""
    pk, dlt = f'"{table.pk}"', delta_of(table)
    try:
        with registered(cur, "_keys", keys):
            return cur.execute(
                f"SELECT (SELECT count(*) FROM {base_of(table)} b SEMI JOIN _keys k "
                f"ON k._pk = b.{pk} ANTI JOIN {dlt} d ON d.{pk} = b.{pk}) + (SELECT count(*) "
                f"FROM {dlt} d SEMI JOIN _keys k ON k._pk = d.{pk} WHERE NOT d._deleted)"
            ).fetchall()[0][0]
    finally:
        cur.close()


def apply_deletes(con, table: Table, dels, pk_type: str) -> int:
    """Tombstones for raw's rows deleted at the source (unless raw has a newer version)."""
    if not dels.num_rows:
        return 0
    pk = f'"{table.pk}"'
    newer = "" if table.append_only else " AND r.updated_at <= d.deleted_at"
    with registered(con, "_dels", dels):
        gone = con.sql(f"SELECT DISTINCT r.{pk} FROM {view_of(table)} r JOIN _dels d "
                       f"ON r.{pk} = TRY_CAST(d.pk AS {pk_type}){newer}").to_arrow_table()
    with registered(con, "_gone", gone):
        return _replace_in_delta(con, table, f"SELECT {pk} FROM _gone",
                                 "SELECT *, true AS _deleted FROM _gone")


def set_null(con, table: Table, col: str, parent_dels, col_type: str) -> None:
    """Mirror ON DELETE SET NULL of a parent whose rows were deleted: the rows, with `col`
    NULL, become the delta's versions."""
    if not parent_dels.num_rows:
        return
    with registered(con, "_parent_dels", parent_dels):
        nulled = con.sql(f'SELECT * REPLACE (CAST(NULL AS {col_type}) AS "{col}") '
                         f'FROM {view_of(table)} WHERE "{col}" IN '
                         f"(SELECT TRY_CAST(pk AS {col_type}) FROM _parent_dels)").to_arrow_table()
    with registered(con, "_nulled", nulled):
        _replace_in_delta(con, table, f'SELECT "{table.pk}" FROM _nulled',
                          "SELECT *, false AS _deleted FROM _nulled")


def compact(con, table: Table, raw_rows: int, force: bool = False) -> int:
    """Fold the delta into base once it passes COMPACT_FRACTION of raw's rows (or `force`):
    base loses the delta's keys and gains its live rows. Returns the delta rows folded."""
    pk, base, dlt = f'"{table.pk}"', base_of(table), delta_of(table)
    rows = con.execute(f"SELECT count(*) FROM {dlt}").fetchall()[0][0]
    if not rows or (not force and rows <= max(COMPACT_MIN_ROWS, COMPACT_FRACTION * raw_rows)):
        return 0
    con.execute(f"DELETE FROM {base} WHERE {pk} IN (SELECT {pk} FROM {dlt})")
    con.execute(f"INSERT INTO {base} BY NAME SELECT * EXCLUDE (_deleted) FROM {dlt} "
                "WHERE NOT _deleted")
    con.execute(f"DELETE FROM {dlt}")
    return rows
