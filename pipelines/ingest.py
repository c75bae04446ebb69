"""Incremental extraction PostgreSQL -> DuckDB `raw` schema as Arrow record batches.

One COPY (FORMAT BINARY) stream per table through adbc-driver-postgresql; DuckDB consumes the
RecordBatchReader batch by batch, so memory stays bounded whatever the table size.
Incremental: rows with cursor > watermark - lookback go to `stage.<t>`, then ONE DuckDB
transaction merges them on the primary key (only rows that really changed are written),
applies deletes recorded in ops_deleted_rows and advances the watermark. A run killed midway
leaves raw and the watermark untouched; the rerun re-reads the same window.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

import duckdb

from pipelines.tables import Table

log = logging.getLogger("ehb.pipelines")

LOOKBACK = timedelta(minutes=10)   # late-committing transactions are re-read
LOOKBACK_IDS = 10_000               # the same for append-only tables keyed by id

OPS_DDL = """
CREATE SCHEMA IF NOT EXISTS raw;
CREATE SCHEMA IF NOT EXISTS stage;
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
"""


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


def adbc_uri(database_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix):]
    return database_url


def pg_connect(database_url: str):
    import adbc_driver_postgresql.dbapi as pg

    return pg.connect(adbc_uri(database_url))


def ensure_ops(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(OPS_DDL)


def source_columns(pg, table: Table) -> list[str]:
    with pg.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = "
                    f"current_schema() AND table_name = '{table.name}' ORDER BY ordinal_position")
        cols = [r[0] for r in cur.fetchall()]
    if not cols:
        raise LookupError(f"table {table.name} does not exist in PostgreSQL")
    return [c for c in cols if c not in table.exclude]


def _select(table: Table, cols: list[str], where: str = "") -> str:
    col_sql = ", ".join(f'"{c}"' for c in cols)
    return f'SELECT {col_sql} FROM "{table.name}"' + (f" WHERE {where}" if where else "")


def _lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _stream_into(con, pg, sql: str, target: str, batch_id: str, create: bool) -> int:
    """Run one COPY-backed query and append its record batches into `target`."""
    with pg.cursor() as cur:
        cur.execute(sql)
        reader = cur.fetch_record_batch()
        extra = f"{_lit(batch_id)} AS _batch_id, now() AS _ingested_at"
        if create:
            con.execute(f"CREATE OR REPLACE TABLE {target} AS "
                        f"SELECT *, {extra} FROM reader LIMIT 0")
        before = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        con.execute(f"INSERT INTO {target} SELECT *, {extra} FROM reader")
        return con.execute(f"SELECT count(*) FROM {target}").fetchone()[0] - before


def _full_load(con, database_url: str, table: Table, cols: list[str], batch_id: str,
               parallel: int) -> int:
    """Load the whole table into raw.<t>__full (parallel COPYs over id ranges), then swap."""
    target = f'raw."{table.name}__full"'
    pg = pg_connect(database_url)
    try:
        rows = _stream_into(con, pg, _select(table, cols, "false"), target, batch_id, create=True)
        bounds = None
        if parallel > 1 and table.pk == "id":
            with pg.cursor() as cur:
                cur.execute(f'SELECT min(id), max(id) FROM "{table.name}"')
                bounds = cur.fetchone()
        if not bounds or bounds[0] is None:
            rows += _stream_into(con, pg, _select(table, cols), target, batch_id, create=False)
    finally:
        pg.close()
    if bounds and bounds[0] is not None:
        lo, hi = bounds
        step = (hi - lo) // parallel + 1
        counts: list[int] = [0] * parallel
        errors: list[BaseException] = []

        def work(i: int) -> None:
            try:
                part_pg = pg_connect(database_url)
                cur_con = con.cursor()
                try:
                    a, b = lo + i * step, lo + (i + 1) * step
                    counts[i] = _stream_into(cur_con, part_pg, _select(
                        table, cols, f"id >= {a} AND id < {b}"), target, batch_id, create=False)
                finally:
                    cur_con.close()
                    part_pg.close()
            except BaseException as exc:  # surfaced below
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(parallel)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        rows += sum(counts)
    return rows


def ingest_table(con: duckdb.DuckDBPyConnection, database_url: str, table: Table, *,
                 full_refresh: bool = False, batch_id: str | None = None,
                 parallel: int = 2) -> IngestResult:
    started = time.perf_counter()
    batch_id = batch_id or uuid.uuid4().hex[:16]
    ensure_ops(con)
    raw = f'raw."{table.name}"'
    exists = con.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = "
                         "'raw' AND table_name = ?", [table.name]).fetchone()[0] > 0
    wm = con.execute("SELECT cursor_ts, cursor_id, deleted_ts FROM ops.watermarks "
                     "WHERE table_name = ?", [table.name]).fetchone()
    full = full_refresh or not exists or wm is None
    pg = pg_connect(database_url)
    try:
        cols = source_columns(pg, table)
        with pg.cursor() as cur:  # deletes are read before rows: a row re-created later wins
            cur.execute("SELECT coalesce(max(deleted_at), now()) FROM ops_deleted_rows")
            deleted_hi = cur.fetchone()[0]
        if full:
            pg.close()
            pg = None
            rows_read = _full_load(con, database_url, table, cols, batch_id, parallel)
            rows_written, rows_deleted = rows_read, 0
            cursor_ts, cursor_id = con.execute(
                f'SELECT {"max(updated_at)" if not table.append_only else "NULL"}, '
                f'{"max(id)" if table.append_only else "NULL"} FROM raw."{table.name}__full"'
            ).fetchone()
            con.execute("BEGIN")
            con.execute(f"DROP TABLE IF EXISTS {raw}")
            con.execute(f'ALTER TABLE raw."{table.name}__full" RENAME TO "{table.name}"')
            deleted_ts = deleted_hi
        else:
            cursor_ts, cursor_id, deleted_ts = wm
            if table.append_only:
                where = f'"{table.cursor}" > {int(cursor_id or 0) - LOOKBACK_IDS}'
            else:
                where = (f'"{table.cursor}" > {_lit(cursor_ts)}::timestamptz - interval '
                         f"'{int(LOOKBACK.total_seconds())} seconds'" if cursor_ts else "")
            stage = f'stage."{table.name}"'
            rows_read = _stream_into(con, pg, _select(table, cols, where), stage, batch_id,
                                     create=True)
            dels = _read_deletes(pg, table.name, deleted_ts)
            parent_dels = {c: _read_deletes(pg, table.parents[c], deleted_ts)
                           for c in table.set_null_on_delete}
            con.execute("BEGIN")
            _add_new_columns(con, raw, stage)
            rows_written = _merge(con, table, raw, stage)
            rows_deleted = _apply_deletes(con, table, raw, dels)
            for col, pdels in parent_dels.items():
                _set_null(con, raw, col, pdels)
            hi = con.execute(f'SELECT max("{table.cursor}") FROM {stage}').fetchone()[0]
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
    raw_rows = con.execute(f"SELECT count(*) FROM {raw}").fetchone()[0]
    log.info("ingested %s: %s read=%d written=%d deleted=%d in %.2fs", table.name, mode,
             rows_read, rows_written, rows_deleted, seconds)
    return IngestResult(table.name, batch_id, mode, rows_read, rows_written, rows_deleted,
                        seconds, raw_rows)


def _read_deletes(pg, table_name: str, since) -> list[tuple[str, object]]:
    where = (f" AND deleted_at > {_lit(since)}::timestamptz - interval "
             f"'{int(LOOKBACK.total_seconds())} seconds'") if since else ""
    with pg.cursor() as cur:
        cur.execute("SELECT row_pk #>> '{}', deleted_at FROM ops_deleted_rows "
                    f"WHERE table_name = {_lit(table_name)}{where}")
        return cur.fetchall()


def _add_new_columns(con, raw: str, stage: str) -> None:
    """A migration added a column: add it to raw (older rows get NULL)."""
    def columns(name):
        return {r[0]: r[1] for r in con.execute(f"DESCRIBE {name}").fetchall()}

    have = columns(raw)
    for col, typ in columns(stage).items():
        if col not in have:
            con.execute(f'ALTER TABLE {raw} ADD COLUMN "{col}" {typ}')


def _merge(con, table: Table, raw: str, stage: str) -> int:
    pk = f'"{table.pk}"'
    changed = ("" if table.append_only else
               " AND r.updated_at IS DISTINCT FROM s.updated_at")
    update = "" if table.append_only else f" WHEN MATCHED{changed} THEN UPDATE"
    return con.execute(
        f"MERGE INTO {raw} AS r USING {stage} AS s ON (r.{pk} = s.{pk})"
        f"{update} WHEN NOT MATCHED THEN INSERT"
    ).fetchone()[0]


def _apply_deletes(con, table: Table, raw: str, dels: list) -> int:
    if not dels:
        return 0
    con.execute("CREATE OR REPLACE TEMP TABLE _deletes (pk VARCHAR, deleted_at TIMESTAMPTZ)")
    con.executemany("INSERT INTO _deletes VALUES (?, ?)", dels)
    newer = "" if table.append_only else " AND r.updated_at <= d.deleted_at"
    return con.execute(
        f'DELETE FROM {raw} AS r USING _deletes d WHERE CAST(r."{table.pk}" AS VARCHAR) = d.pk'
        f"{newer}").fetchone()[0]


def _set_null(con, raw: str, col: str, parent_deletes: list) -> None:
    """Mirror ON DELETE SET NULL of a parent whose rows were deleted."""
    if not parent_deletes:
        return
    con.execute("CREATE OR REPLACE TEMP TABLE _parent_deletes (pk VARCHAR)")
    con.executemany("INSERT INTO _parent_deletes VALUES (?)", [[p] for p, _ in parent_deletes])
    con.execute(f'UPDATE {raw} SET "{col}" = NULL WHERE CAST("{col}" AS VARCHAR) IN '
                "(SELECT pk FROM _parent_deletes)")
