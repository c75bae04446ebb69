"""Incremental extraction PostgreSQL -> DuckDB `raw` schema as Arrow record batches.

Data moves as COPY (FORMAT BINARY) streams through adbc-driver-postgresql; DuckDB consumes each
RecordBatchReader batch by batch, so memory stays bounded whatever the table size.

Full load: one REPEATABLE READ snapshot exported to N connections, each streaming a ctid range
of the heap (a TID range scan: every page read once, no index, no sort) straight into
`raw.<t>__full`; one DuckDB transaction then swaps it in and sets the watermark.
Incremental: rows with cursor > watermark - lookback land in a temporary stage; ONE DuckDB
transaction deletes the raw rows whose version changed (found by rowid in one scan of the key
columns), inserts the changed and new rows (only those: a rerun writes nothing), applies the
deletes recorded in ops_deleted_rows since the watermark and advances it. Deleting and
appending, rather than updating in place, keeps the commit from rewriting every row group a
scattered change touches. A run killed midway leaves raw and the watermark untouched; the
rerun re-reads the same window.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import duckdb

from pipelines.tables import Table

log = logging.getLogger("ehb.pipelines")

LOOKBACK = timedelta(minutes=10)   # late-committing transactions are re-read
LOOKBACK_IDS = 10_000               # the same for append-only tables keyed by id
MIN_PAGES_PER_STREAM = 4096         # 32 MB of heap: below that one COPY stream is faster
BATCH_BYTES = 4 << 20               # Arrow batch size per COPY stream (the driver's default: 16 MB)

OPS_DDL = """
DROP SCHEMA IF EXISTS stage CASCADE;  -- persistent stages of older versions: now a temp table
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS ops;
CREATE TABLE IF NOT EXISTS ops.watermarks (
    table_name VARCHAR PRIMARY KEY, cursor_ts TIMESTAMPTZ, cursor_id BIGINT,
    deleted_ts TIMESTAMPTZ, batch_id VARCHAR, loaded_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS ops.ingest_log (
    batch_id VARCHAR, table_name VARCHAR, mode VARCHAR, rows_read BIGINT, rows_written BIGINT,
    rows_deleted BIGINT, seconds DOUBLE, finished_at TIMESTAMPTZ);
CREATE TABLE IF NOT EXISTS ops.quarantine (
    batch_id VARCHAR, table_name VARCHAR, row_pk VARCHAR, expectation VARCHAR,
    row_json VARCHAR, quarantined_at TIMESTAMPTZ);
-- released by a later validation (re-check passed, or the row version left raw); kept as history
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS released_at TIMESTAMPTZ;
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS release_reason VARCHAR;
ALTER TABLE ops.quarantine ADD COLUMN IF NOT EXISTS released_by_batch VARCHAR;
"""


OPS_TABLES = {"ops.watermarks", "ops.ingest_log", "ops.quarantine"}
# the newest columns OPS_DDL adds: a warehouse without them is migrated on its next ingestion
OPS_COLUMNS = {"ops.quarantine.released_at", "ops.quarantine.release_reason",
               "ops.quarantine.released_by_batch"}


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


class _UnknownTypes(Exception):
    """A column type (an enum, a domain...) the driver's built-in type table does not know."""


def adbc_uri(database_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix):]
    return database_url


def pg_connect(database_url: str):
    import adbc_driver_postgresql.dbapi as pg

    return pg.connect(adbc_uri(database_url))


def _pg_session(database_url: str, server_types: bool, snapshot: str | None = None):
    """An ADBC connection inside a REPEATABLE READ transaction (importing `snapshot`).

    The built-in type table spares the catalog queries the driver otherwise runs on every
    connect (~50 ms); a column it does not know raises _UnknownTypes and the caller retries
    with server_types. JIT is off: compiling costs more than it saves on a plain scan."""
    import adbc_driver_postgresql.dbapi as pg

    uri = adbc_uri(database_url)
    if "options=" not in uri:  # session settings ride on the connect, no extra round trip
        uri += ("&" if "?" in uri else "?") + "options=-c%20jit%3Doff"
    opts = {} if server_types else {"adbc.postgresql.type_resolver_mode": "builtin"}
    conn = pg.connect(uri, db_kwargs=opts, autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            if snapshot:
                cur.execute(f"SET TRANSACTION SNAPSHOT {_lit(snapshot)}")
    except BaseException:
        conn.close()
        raise
    return conn


def _check_types(schema) -> None:
    for field in schema:
        pg_type = (field.metadata or {}).get(b"POSTGRESQL:type", b"")
        if pg_type.startswith(b"unnamed<oid:"):
            raise _UnknownTypes(field.name)


def ensure_ops(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(OPS_DDL)


def _source_info_sql(table: Table, with_snapshot: bool) -> str:
    """Columns, (snapshot, heap pages) and the deletes' high mark in one round trip."""
    rel = _lit(f'"{table.name}"')
    cols = ("SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
            f"WHERE attrelid = to_regclass({rel}) AND attnum > 0 AND NOT attisdropped")
    snap = (f", pg_export_snapshot(), pg_relation_size(to_regclass({rel})) / "
            "current_setting('block_size')::int" if with_snapshot else "")
    return (f"SELECT ({cols}), (SELECT coalesce(max(deleted_at), now()) FROM ops_deleted_rows)"
            f"{snap}")


def _columns(table: Table, cols) -> list[str]:
    if not cols:
        raise LookupError(f"table {table.name} does not exist in PostgreSQL")
    return [c for c in cols if c not in table.exclude]


def _select(table: Table, cols: list[str], where: str = "") -> str:
    col_sql = ", ".join(f'"{c}"' for c in cols)
    return f'SELECT {col_sql} FROM "{table.name}"' + (f" WHERE {where}" if where else "")


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _extra(batch_id: str) -> str:
    ingested_at = datetime.now(UTC).isoformat()
    return f"{_lit(batch_id)} AS _batch_id, {_lit(ingested_at)}::TIMESTAMPTZ AS _ingested_at"


def _ctid_range(i: int, streams: int, pages: int) -> str:
    lo, hi = pages * i // streams, pages * (i + 1) // streams
    conds = ([f"ctid >= '({lo},0)'::tid"] if i > 0 else []) + (
        [f"ctid < '({hi},0)'::tid"] if i < streams - 1 else [])  # the last range is open
    return " AND ".join(conds)


def _full_load(con, database_url: str, table: Table, batch_id: str, parallel: int,
               server_types: bool):
    """Stream the whole table into raw.<t>__full: one snapshot, `parallel` ctid ranges."""
    target = f'raw."{table.name}__full"'
    conns = [_pg_session(database_url, server_types)]
    cursors = []
    try:
        with conns[0].cursor() as cur:
            cur.execute(_source_info_sql(table, with_snapshot=True))
            cols, deleted_hi, snapshot, pages = cur.fetchone()
        cols = _columns(table, cols)
        streams = max(1, min(parallel, (pages or 0) // MIN_PAGES_PER_STREAM))
        conns += [_pg_session(database_url, server_types, snapshot) for _ in range(streams - 1)]
        readers = []
        for i, pg in enumerate(conns):
            cursors.append(pg.cursor())
            cursors[-1].adbc_statement.set_options(
                **{"adbc.postgresql.batch_size_hint_bytes": str(BATCH_BYTES)})
            cursors[-1].execute(_select(table, cols, _ctid_range(i, streams, pages or 0)))
            readers.append(cursors[-1].fetch_record_batch())
        _check_types(readers[0].schema)
        extra = _extra(batch_id)
        con.register("_empty", readers[0].schema.empty_table())
        con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT *, {extra} FROM _empty")
        con.unregister("_empty")
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
        for pg in conns:
            pg.close()
    return sum(counts), deleted_hi


def ingest_table(con: duckdb.DuckDBPyConnection, database_url: str, table: Table, *,
                 full_refresh: bool = False, batch_id: str | None = None,
                 parallel: int = 2) -> IngestResult:
    batch_id = batch_id or uuid.uuid4().hex[:16]
    try:
        return _ingest(con, database_url, table, full_refresh, batch_id, parallel, False)
    except _UnknownTypes:
        return _ingest(con, database_url, table, full_refresh, batch_id, parallel, True)


def _ingest(con, database_url: str, table: Table, full_refresh: bool, batch_id: str,
            parallel: int, server_types: bool) -> IngestResult:
    started = time.perf_counter()
    raw = f'raw."{table.name}"'
    present = {r[0] for r in con.execute(
        "SELECT schema_name || '.' || table_name FROM duckdb_tables() WHERE schema_name = 'ops' "
        "OR (schema_name = 'raw' AND table_name = ?) UNION ALL SELECT schema_name || '.' || "
        "table_name || '.' || column_name FROM duckdb_columns() WHERE schema_name = 'ops' "
        "AND table_name = 'quarantine'", [table.name]).fetchall()}
    exists = f"raw.{table.name}" in present
    if not exists or not (OPS_TABLES | OPS_COLUMNS) <= present:
        ensure_ops(con)
    wm = con.execute("SELECT cursor_ts, cursor_id, deleted_ts FROM ops.watermarks "
                     "WHERE table_name = ?", [table.name]).fetchall()
    wm = wm[0] if wm else None
    full = full_refresh or not exists or wm is None
    pg = None
    try:
        if full:
            rows_read, deleted_ts = _full_load(con, database_url, table, batch_id, parallel,
                                               server_types)
            rows_written, rows_deleted = rows_read, 0
            cursor_ts, cursor_id = con.execute(
                f'SELECT {"max(updated_at)" if not table.append_only else "NULL"}, '
                f'{"max(id)" if table.append_only else "NULL"} FROM raw."{table.name}__full"'
            ).fetchall()[0]
            con.execute("BEGIN")
            con.execute(f"DROP TABLE IF EXISTS {raw}")
            con.execute(f'ALTER TABLE raw."{table.name}__full" RENAME TO "{table.name}"')
        else:
            cursor_ts, cursor_id, deleted_ts = wm
            pg = _pg_session(database_url, server_types)
            with pg.cursor() as cur:  # one snapshot: columns, deletes' mark, rows, deletes
                cur.execute(_source_info_sql(table, with_snapshot=False))
                cols, deleted_hi = cur.fetchone()
                cur.execute(_select(table, _columns(table, cols), _delta_where(table, wm)))
                reader = cur.fetch_record_batch()
                _check_types(reader.schema)
                con.register("_delta", reader)
                rows_read = con.execute(
                    f"CREATE OR REPLACE TEMP TABLE _stage AS SELECT *, {_extra(batch_id)} "
                    "FROM _delta").fetchall()[0][0]
                con.unregister("_delta")
            dels = _read_deletes(pg, table.name, deleted_ts)
            parent_dels = {c: _read_deletes(pg, table.parents[c], deleted_ts)
                           for c in table.set_null_on_delete}
            con.execute("BEGIN")
            types = _add_new_columns(con, raw, "_stage")
            rows_written = _merge(con, table, raw) if rows_read else 0
            rows_deleted = _apply_deletes(con, table, raw, dels, types[table.pk])
            for col, pdels in parent_dels.items():
                _set_null(con, raw, col, pdels, types[col])
            hi = con.execute(f'SELECT max("{table.cursor}") FROM _stage').fetchall()[0][0]
            if hi is not None:
                if table.append_only:
                    cursor_id = max(int(cursor_id or 0), hi)
                else:
                    cursor_ts = max(cursor_ts, hi) if cursor_ts else hi
            deleted_ts = deleted_hi
        con.execute("INSERT OR REPLACE INTO ops.watermarks VALUES (?, ?, ?, ?, ?, now())",
                    [table.name, cursor_ts, cursor_id, deleted_ts, batch_id])
        seconds = time.perf_counter() - started
        mode = "full" if full else "incremental"
        con.execute("INSERT INTO ops.ingest_log VALUES (?, ?, ?, ?, ?, ?, ?, now())",
                    [batch_id, table.name, mode, rows_read, rows_written, rows_deleted, seconds])
        con.execute("COMMIT")
    except BaseException:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:  # no transaction was open
            pass
        raise
    finally:
        if pg is not None:
            pg.close()
    if not full:  # the temp tables would hold the delta's memory until the connection closes
        con.execute("DROP TABLE IF EXISTS _stage; DROP TABLE IF EXISTS _match")
    raw_rows = con.execute(f"SELECT count(*) FROM {raw}").fetchall()[0][0]
    log.info("ingested %s: %s read=%d written=%d deleted=%d in %.2fs", table.name, mode,
             rows_read, rows_written, rows_deleted, seconds)
    return IngestResult(table.name, batch_id, mode, rows_read, rows_written, rows_deleted,
                        seconds, raw_rows)


def _delta_where(table: Table, wm) -> str:
    cursor_ts, cursor_id, _ = wm
    if table.append_only:
        return f'"{table.cursor}" > {int(cursor_id or 0) - LOOKBACK_IDS}'
    if not cursor_ts:
        return ""
    return (f'"{table.cursor}" > {_lit(cursor_ts)}::timestamptz - interval '
            f"'{int(LOOKBACK.total_seconds())} seconds'")


def _read_deletes(pg, table_name: str, since):
    """Primary keys (as text) deleted since the watermark minus the lookback, as Arrow."""
    where = (f" AND deleted_at > {_lit(since)}::timestamptz - interval "
             f"'{int(LOOKBACK.total_seconds())} seconds'") if since else ""
    with pg.cursor() as cur:
        cur.execute("SELECT row_pk #>> '{}' AS pk, deleted_at FROM ops_deleted_rows "
                    f"WHERE table_name = {_lit(table_name)}{where}")
        return cur.fetch_arrow_table()


def _add_new_columns(con, raw: str, stage: str) -> dict[str, str]:
    """A migration added a column: add it to raw (older rows get NULL). Returns raw's types."""
    def columns(name):
        return {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}

    have = columns(raw)
    for col, typ in columns(stage).items():
        if col not in have:
            con.execute(f'ALTER TABLE {raw} ADD COLUMN "{col}" {typ}')
            have[col] = typ
    return have


def _merge(con, table: Table, raw: str) -> int:
    """Stage -> raw on the primary key; returns the rows written (changed or new)."""
    pk = f'"{table.pk}"'
    same = ("TRUE" if table.append_only else  # append-only rows never change
            "r.updated_at IS NOT DISTINCT FROM s.updated_at")
    con.execute(f"CREATE OR REPLACE TEMP TABLE _match AS SELECT r.rowid AS _rid, s.{pk} AS _pk, "
                f"{same} AS _same FROM {raw} r JOIN _stage s ON r.{pk} = s.{pk}")
    if not table.append_only:
        con.execute(f"DELETE FROM {raw} WHERE rowid IN (SELECT _rid FROM _match WHERE NOT _same)")
    return con.execute(
        f"INSERT INTO {raw} BY NAME SELECT s.* FROM _stage s "
        f"ANTI JOIN (SELECT _pk FROM _match WHERE _same) m ON m._pk = s.{pk}").fetchall()[0][0]


def _apply_deletes(con, table: Table, raw: str, dels, pk_type: str) -> int:
    if not dels.num_rows:
        return 0
    newer = "" if table.append_only else " AND r.updated_at <= d.deleted_at"
    con.register("_dels", dels)
    try:
        return con.execute(f'DELETE FROM {raw} AS r USING _dels d '
                           f'WHERE r."{table.pk}" = TRY_CAST(d.pk AS {pk_type}){newer}'
                           ).fetchall()[0][0]
    finally:
        con.unregister("_dels")


def _set_null(con, raw: str, col: str, parent_dels, col_type: str) -> None:
    """Mirror ON DELETE SET NULL of a parent whose rows were deleted."""
    if not parent_dels.num_rows:
        return
    con.register("_parent_dels", parent_dels)
    try:
        con.execute(f'UPDATE {raw} SET "{col}" = NULL WHERE "{col}" IN '
                    f"(SELECT TRY_CAST(pk AS {col_type}) FROM _parent_dels)")
    finally:
        con.unregister("_parent_dels")
