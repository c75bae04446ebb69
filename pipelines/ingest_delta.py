"""The incremental half of ingestion: the rows changed since the watermark, merged into raw.

Rows with cursor > watermark - lookback are staged. Only staged rows inside that lookback window
can already be in raw as the same version: they are found from raw's rows in the window (a
filtered scan of the cursor column) and left alone, so a rerun writes nothing. Every other
staged key's old version is deleted (one semi-join scan of raw's key) and the staged rows are
appended. Deleting and appending, rather than updating in place, keeps the commit from
rewriting every row group a scattered change touches."""

from __future__ import annotations

import itertools
from contextlib import contextmanager
from datetime import timedelta

import pyarrow as pa
import pyarrow.compute as pc

from pipelines.pg_source import lit
from pipelines.tables import Table

LOOKBACK = timedelta(minutes=10)   # late-committing transactions are re-read
LOOKBACK_IDS = 10_000               # the same for append-only tables keyed by id
STAGE_ARROW_BYTES = 64 << 20        # a delta up to this size is staged as Arrow, no copy


@contextmanager
def registered(con, name: str, data):
    """`data` (Arrow) visible to DuckDB as `name` for the block."""
    con.register(name, data)
    try:
        yield
    finally:
        con.unregister(name)


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
    con.execute("DROP VIEW IF EXISTS _stage; DROP TABLE IF EXISTS _stage_rows; "
                "DROP TABLE IF EXISTS _same")
    con.unregister("_delta")


def read_deletes(pg, table_name: str, since):
    """Primary keys (as text) deleted since the watermark minus the lookback, as Arrow."""
    where = (f" AND deleted_at > {lit(since)}::timestamptz - interval "
             f"'{int(LOOKBACK.total_seconds())} seconds'") if since else ""
    with pg.cursor() as cur:
        cur.execute("SELECT row_pk #>> '{}' AS pk, deleted_at FROM ops_deleted_rows "
                    f"WHERE table_name = {lit(table_name)}{where}")
        return cur.fetch_arrow_table()


def add_new_columns(con, raw: str, stage: str) -> dict[str, str]:
    """A migration added a column: add it to raw (older rows get NULL). Returns raw's types."""
    def columns(name):
        return {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}

    have = columns(raw)
    for col, typ in columns(stage).items():
        if col not in have:
            con.execute(f'ALTER TABLE {raw} ADD COLUMN "{col}" {typ}')
            have[col] = typ
    return have


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


def merge(con, table: Table, raw: str, window) -> tuple[int, int]:
    """Stage -> raw on the primary key: (rows written, old versions they replaced). `window`:
    window_versions()."""
    pk = f'"{table.pk}"'
    same_version = "" if table.append_only else " AND w.updated_at = s.updated_at"
    with registered(con, "_window", window):
        con.execute(f"CREATE OR REPLACE TEMP TABLE _same AS SELECT s.{pk} AS _pk FROM _window w "
                    f"JOIN _stage s ON w._pk = s.{pk}{same_version}")
    changed = f"SELECT s.{pk} FROM _stage s ANTI JOIN _same m ON m._pk = s.{pk}"
    replaced = 0
    if not table.append_only:  # append-only rows never change: nothing to replace
        replaced = con.execute(f"DELETE FROM {raw} WHERE {pk} IN ({changed})").fetchall()[0][0]
    written = con.execute(f"INSERT INTO {raw} BY NAME SELECT s.* FROM _stage s "
                          f"ANTI JOIN _same m ON m._pk = s.{pk}").fetchall()[0][0]
    return written, replaced


def apply_deletes(con, table: Table, raw: str, dels, pk_type: str) -> int:
    if not dels.num_rows:
        return 0
    newer = "" if table.append_only else " AND r.updated_at <= d.deleted_at"
    with registered(con, "_dels", dels):
        return con.execute(f'DELETE FROM {raw} AS r USING _dels d '
                           f'WHERE r."{table.pk}" = TRY_CAST(d.pk AS {pk_type}){newer}'
                           ).fetchall()[0][0]


def set_null(con, raw: str, col: str, parent_dels, col_type: str) -> None:
    """Mirror ON DELETE SET NULL of a parent whose rows were deleted."""
    if not parent_dels.num_rows:
        return
    with registered(con, "_parent_dels", parent_dels):
        con.execute(f'UPDATE {raw} SET "{col}" = NULL WHERE "{col}" IN '
                    f"(SELECT TRY_CAST(pk AS {col_type}) FROM _parent_dels)")
