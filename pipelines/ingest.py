"""Incremental extraction PostgreSQL -> DuckDB `raw` schema as Arrow record batches.

Data moves as COPY (FORMAT BINARY) streams through adbc-driver-postgresql (pipelines.pg_source);
DuckDB consumes each RecordBatchReader batch by batch, so memory stays bounded whatever the
table size.

`raw.<t>` is a view over `raw_base.<t>` and a small `raw_delta.<t>` (pipelines.ingest_delta).
Full load: one REPEATABLE READ snapshot exported to N connections, each streaming a ctid range
of the heap (a TID range scan: every page read once, no index, no sort) straight into
`raw_base.<t>__full`; one DuckDB transaction then swaps it in as base, with an empty delta, and
sets the watermark.
Incremental (pipelines.ingest_delta): the delta since the watermark minus a lookback, merged on
the primary key into the delta table; the deletes recorded in ops_deleted_rows applied as
tombstones; the delta folded into base when it has grown; the watermark advanced, all in ONE
DuckDB transaction. A run killed midway leaves raw and the watermark untouched; the
rerun re-reads the same window. ops.watermarks also keeps raw's row count, so no run has to
count a big table.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from concurrent.futures import wait
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from pipelines import ingest_delta as delta
from pipelines.pg_source import (
    columns,
    ctid_range,
    lit,
    pg_session,
    select,
    source_info_sql,
)
from pipelines.tables import Table

log = logging.getLogger("ehb.pipelines")

MIN_PAGES_PER_STREAM = 4096         # 32 MB of heap: below that one COPY stream is faster
BATCH_BYTES = 4 << 20               # Arrow batch size per COPY stream (the driver's default: 16 MB)

OPS_DDL = """
DROP SCHEMA IF EXISTS stage CASCADE;  -- persistent stages of older versions: now a temp table
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.watermarks (
    table_name VARCHAR PRIMARY KEY, cursor_ts TIMESTAMPTZ, cursor_id BIGINT,
    deleted_ts TIMESTAMPTZ, batch_id VARCHAR, loaded_at TIMESTAMPTZ);
ALTER TABLE ops.watermarks ADD COLUMN IF NOT EXISTS raw_rows BIGINT;
CREATE TABLE IF NOT EXISTS ops.ingest_log (
    batch_id VARCHAR, table_name VARCHAR, mode VARCHAR, rows_read BIGINT, rows_written BIGINT,
    rows_deleted BIGINT, seconds DOUBLE, finished_at TIMESTAMPTZ);
ALTER TABLE ops.ingest_log ADD COLUMN IF NOT EXISTS rows_compacted BIGINT;
CREATE TABLE IF NOT EXISTS ops.quarantine (
    batch_id VARCHAR, table_name VARCHAR, row_pk VARCHAR, expectation VARCHAR,
    row_json VARCHAR, quarantined_at TIMESTAMPTZ);
-- released by a later validation (re-check passed, or the row version left raw); kept as history
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS released_at TIMESTAMPTZ;
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS release_reason VARCHAR;
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS released_by_batch VARCHAR;
"""

# binds what OPS_DDL creates, its newest columns included: a warehouse missing any of it (older
# or new) gets OPS_DDL run on its next ingestion. Binding costs a fraction of listing the catalog.
_OPS_PROBE = """
SELECT w.raw_rows, q.released_at, q.release_reason, q.released_by_batch,
       l.rows_compacted
FROM ops.watermarks w, ops.quarantine q, ops.ingest_log l LIMIT 0
"""


def _binds(con, sql: str) -> bool:
    try:
        con.execute(sql)
        return True
    except (duckdb.CatalogException, duckdb.BinderException):
        return False


@dataclass
class IngestResult:
    table: str
    batch_id: str
    mode: str
    rows_read: int
    rows_written: int
    rows_deleted: int
    seconds: float
    raw_rows: int
    compacted: int = 0  # delta rows folded into base by this run


def ensure_ops(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(OPS_DDL)


def _extra(batch_id: str) -> str:
    ingested_at = datetime.now(UTC).isoformat()
    return f"{lit(batch_id)} AS _batch_id, {lit(ingested_at)}::TIMESTAMPTZ AS _ingested_at"


def _open_source(database_url: str, table: Table):
    """The PostgreSQL session and, in its snapshot, the table's columns, the deletes' high mark,
    the exported snapshot and the heap pages (one round trip)."""
    pg = pg_session(database_url)
    try:
        with pg.cursor() as cur:
            cur.execute(source_info_sql(table, with_snapshot=True))
            return pg, cur.fetchone()
    except BaseException:
        pg.close()
        raise


def _full_load(con, pg, info, database_url: str, table: Table, batch_id: str, parallel: int):
    """Stream the whole table into raw_base.<t>__full: one snapshot (pg's), `parallel` ctid
    ranges."""
    target = delta.base_of(table, "__full")
    conns = [pg]
    cursors = []
    cols, deleted_hi, snapshot, pages = info
    try:
        cols = columns(table, cols)
        streams = max(1, min(parallel, (pages or 0) // MIN_PAGES_PER_STREAM))
        conns += [pg_session(database_url, snapshot) for _ in range(streams - 1)]
        readers = []
        for i, conn in enumerate(conns):
            cursors.append(conn.cursor())
            cursors[-1].adbc_statement.set_options(
                **{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
            cursors[-1].execute(select(table, cols, ctid_range(i, streams, pages or 0)))
            readers.append(cursors[-1].fetch_record_batch())
        extra = _extra(batch_id)
        con.execute(delta.SCHEMAS)
        with delta.registered(con, "_empty", readers[0].schema.empty_table()):
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT *, {extra} FROM _empty")
        counts = [0] * streams
        errors: list[BaseException] = []

        def load(i: int) -> None:
            cur_con = con.cursor()
            try:
                cur_con.register("_stream", readers[i])
                counts[i] = cur_con.execute(
                    f"INSERT INTO {target} SELECT *, {extra} FROM _stream").fetchall()[0][0]
            except BaseException as exc:  # noqa: BLE001 (re-raised by the caller below)
                errors.append(exc)
            finally:
                cur_con.close()

        # flush every row group as soon as it is full: memory does not grow with the table
        buffered = con.execute(
            "SELECT current_setting('write_buffer_row_group_count')").fetchall()[0][0]
        con.execute("SET write_buffer_row_group_count = 1")
        threads = [threading.Thread(target=load, args=(i,)) for i in range(1, streams)]
        try:
            for t in threads:
                t.start()
            load(0)
        finally:
            for t in threads:
                t.join()
            con.execute(f"SET write_buffer_row_group_count = {int(buffered)}")
        if errors:
            raise errors[0]
    finally:
        for cur in cursors:
            cur.close()
        for extra_conn in conns[1:]:  # the caller closes pg
            extra_conn.close()
    return sum(counts), deleted_hi


def ingest_table(con: duckdb.DuckDBPyConnection, database_url: str, table: Table, *,
                 full_refresh: bool = False, batch_id: str | None = None,
                 parallel: int = 2) -> IngestResult:
    return _ingest(con, database_url, table, full_refresh, batch_id or new_batch_id(), parallel)


def new_batch_id() -> str:
    """12 hex digits, in time order: the second, then 16 random bits. At most 12 bytes, which
    DuckDB stores inline in every row (a 16-byte id cost ~7 ms of writing and committing
    50k rows, a fifth)."""
    return f"{int(time.time()):08x}{secrets.token_hex(2)}"


def _ingest(con, database_url: str, table: Table, full_refresh: bool, batch_id: str,
            parallel: int) -> IngestResult:
    started, compacted = time.perf_counter(), 0
    # the connect (a backend fork, ~3 ms; a process's first also reads the server's types,
    # ~10 ms) overlaps DuckDB reading the watermark
    connecting = delta.in_thread(_open_source, database_url, table)
    raw = delta.view_of(table)
    try:
        # a raw table of the layout before merge on read (no delta) gets one full load
        exists = _binds(con, f"SELECT 1 FROM {raw}, {delta.delta_of(table)} LIMIT 0")
        if not _binds(con, _OPS_PROBE):
            ensure_ops(con)
        wm = con.execute("SELECT cursor_ts, cursor_id, deleted_ts, raw_rows FROM ops.watermarks "
                         "WHERE table_name = ?", [table.name]).fetchall()
    except BaseException:
        if connecting.exception() is None:  # waits for the connect: the session must be closed
            connecting.result()[0].close()
        raise
    wm = wm[0] if wm else None
    full = full_refresh or not exists or wm is None
    # raw's rows in the lookback window, read while PostgreSQL connects and streams the delta
    window = None if full else delta.in_thread(delta.window_versions, con.cursor(), table,
                                               raw, wm[:2])
    try:
        pg, info = connecting.result()
    except BaseException:
        if window is not None:
            wait([window])  # its DuckDB cursor is closed before the error propagates
        raise
    try:
        if full:
            rows_read, deleted_ts = _full_load(con, pg, info, database_url, table, batch_id,
                                                 parallel)
            rows_written, rows_deleted, raw_rows = rows_read, 0, rows_read
            cursor_ts, cursor_id = con.execute(
                f'SELECT {"max(updated_at)" if not table.append_only else "NULL"}, '
                f'{"max(id)" if table.append_only else "NULL"} FROM '
                f'{delta.base_of(table, "__full")}').fetchall()[0]
            con.execute("BEGIN")
            _drop_raw(con, table)
            con.execute(f'ALTER TABLE {delta.base_of(table, "__full")} RENAME TO "{table.name}"')
            delta.create_delta(con, table)
        else:
            (cursor_ts, cursor_id, deleted_ts, raw_rows), extra = wm, _extra(batch_id)
            cols, deleted_hi = info[:2]  # the session's one snapshot serves every read
            try:
                with pg.cursor() as cur:
                    cur.execute(select(table, columns(table, cols),
                                       delta.delta_where(table, (cursor_ts, cursor_id))))
                    reader = cur.fetch_record_batch()
                    names = reader.schema.names
                    rows_read, hi = delta.stage_delta(con, reader, extra, table.cursor)
                dels = delta.read_deletes(pg, table.name, deleted_ts)
                parent_dels = {c: delta.read_deletes(pg, table.parents[c], deleted_ts)
                               for c in table.set_null_on_delete}
            finally:
                wait([window])  # its DuckDB cursor is closed before anything else runs
            con.execute("BEGIN")
            types = delta.add_new_columns(con, table, "_stage", names)
            rows_written, replaced = (delta.merge(con, table, window.result())
                                      if rows_read else (0, 0))
            rows_deleted = delta.apply_deletes(con, table, dels, types[table.pk])
            for col, pdels in parent_dels.items():
                delta.set_null(con, table, col, pdels, types[col])
            if raw_rows is None:  # a warehouse from before the count was kept
                raw_rows = con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0]
            else:
                raw_rows += rows_written - replaced - rows_deleted
            compacted = delta.compact(con, table, raw_rows)
            if hi is not None:
                if table.append_only:
                    cursor_id = max(int(cursor_id or 0), hi)
                else:
                    cursor_ts = max(cursor_ts, hi) if cursor_ts else hi
            deleted_ts = deleted_hi
        if wm is None:
            con.execute("INSERT OR REPLACE INTO ops.watermarks (table_name, cursor_ts, cursor_id, "
                        "deleted_ts, batch_id, loaded_at, raw_rows) VALUES (?, ?, ?, ?, ?, now(), ?)",
                        [table.name, cursor_ts, cursor_id, deleted_ts, batch_id, raw_rows])
        else:  # an UPDATE costs a third of the upsert's index probe
            con.execute("UPDATE ops.watermarks SET cursor_ts = ?, cursor_id = ?, deleted_ts = ?, "
                        "batch_id = ?, loaded_at = now(), raw_rows = ? WHERE table_name = ?",
                        [cursor_ts, cursor_id, deleted_ts, batch_id, raw_rows, table.name])
        seconds = time.perf_counter() - started
        mode = "full" if full else "incremental"
        con.execute("INSERT INTO ops.ingest_log (batch_id, table_name, mode, rows_read, "
                    "rows_written, rows_deleted, seconds, finished_at, rows_compacted) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, now(), ?)", [batch_id, table.name, mode,
                    rows_read, rows_written, rows_deleted, seconds, compacted])
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # no transaction was open
            pass
        raise
    finally:
        pg.close()
        if not full:
            delta.drop_stage(con)
    log.info("ingested %s: %s read=%d written=%d deleted=%d compacted=%d in %.2fs", table.name,
             mode, rows_read, rows_written, rows_deleted, compacted, seconds)
    return IngestResult(table.name, batch_id, mode, rows_read, rows_written, rows_deleted,
                        seconds, raw_rows, compacted)


def _drop_raw(con, table: Table) -> None:
    """raw.<t> (a view, or a table of the layout before merge on read), its base and delta."""
    kind = con.execute("SELECT 'TABLE' FROM duckdb_tables() WHERE schema_name = 'raw' AND "
                       "table_name = ? UNION ALL SELECT 'VIEW' FROM duckdb_views() WHERE "
                       "schema_name = 'raw' AND view_name = ?", [table.name] * 2).fetchall()
    if kind:
        con.execute(f"DROP {kind[0][0]} {delta.view_of(table)}")
    con.execute(f"DROP TABLE IF EXISTS {delta.base_of(table)}; "
                f"DROP TABLE IF EXISTS {delta.delta_of(table)}")
