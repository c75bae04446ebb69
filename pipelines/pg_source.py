"""The PostgreSQL side of ingestion: ADBC sessions on one snapshot and the SQL they run.

Data leaves PostgreSQL as `COPY ... (FORMAT BINARY)` streams that adbc-driver-postgresql turns
into Arrow record batches; nothing here materializes a table."""

from __future__ import annotations

import threading

from pipelines.tables import Table


def adbc_uri(database_url: str) -> str:
    for prefix in ("postgresql+psycopg://", "postgresql+psycopg2://", "postgres://"):
        if database_url.startswith(prefix):
            return "postgresql://" + database_url[len(prefix):]
    return database_url


# The driver reads the server's type table whenever an ADBC *database* is created (1.8.0 has no
# built-in one): two catalog queries, ~10 ms. One database per URI and process, and connections
# made from it (~2 ms), pay that once per run instead of once per table and check. An ADBC
# database holds no backend of its own.
_CATALOG_SQL = "SELECT count(*), sum(oid::int8) FROM pg_catalog.pg_type"
_databases: dict[str, tuple] = {}   # uri -> (shared ADBC database, pg_type fingerprint or None)
_databases_lock = threading.Lock()


def _shared_database(uri: str, stale=None):
    import adbc_driver_postgresql
    from adbc_driver_manager import dbapi

    with _databases_lock:
        entry = _databases.get(uri)
        if entry is None or entry[0] is stale:
            if entry is not None:
                entry[0].close()  # the database closes when its last connection does
            # dbapi's reference-counted holder (not exported): connections clone it, so
            # closing one of them leaves the database to the next
            entry = _databases[uri] = (dbapi._SharedDatabase(adbc_driver_postgresql.connect(uri)),
                                       None)
        return entry


def _connect(uri: str):
    """A connection from the process's shared database, re-created once the server's types
    changed since it read them (a type it does not know would arrive as opaque bytes)."""
    import adbc_driver_manager
    from adbc_driver_manager import dbapi

    stale = None
    while True:
        holder, fingerprint = _shared_database(uri, stale)
        conn = dbapi.Connection(holder, adbc_driver_manager.AdbcConnection(holder._db),
                                autocommit=True)
        try:
            with conn.cursor() as cur:
                cur.execute(_CATALOG_SQL)
                now = cur.fetchone()
        except BaseException:
            conn.close()
            raise
        if fingerprint is None:
            with _databases_lock:
                if _databases.get(uri, (None,))[0] is holder:
                    _databases[uri] = (holder, now)
            return conn
        if fingerprint == now:
            return conn
        conn.close()
        stale = holder


def pg_connect(database_url: str):
    """An autocommit ADBC connection."""
    return _connect(adbc_uri(database_url))


def pg_session(database_url: str, snapshot: str | None = None):
    """An ADBC connection inside a REPEATABLE READ transaction (importing `snapshot`).

    JIT is off: compiling costs more than it saves on a plain scan."""
    uri = adbc_uri(database_url)
    if "options=" not in uri:  # session settings ride on the connect, no extra round trip
        uri += ("&" if "?" in uri else "?") + "options=-c%20jit%3Doff"
    conn = _connect(uri)
    try:
        with conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
            if snapshot:
                cur.execute(f"SET TRANSACTION SNAPSHOT {lit(snapshot)}")
    except BaseException:
        conn.close()
        raise
    return conn


def source_info_sql(table: Table, with_snapshot: bool) -> str:
    """Columns, the deletes' high mark and (snapshot, heap pages) in one round trip."""
    rel = lit(f'"{table.name}"')
    cols = ("SELECT array_agg(attname::text ORDER BY attnum) FROM pg_attribute "
            f"WHERE attrelid = to_regclass({rel}) AND attnum > 0 AND NOT attisdropped")
    snap = (f", pg_export_snapshot(), pg_relation_size(to_regclass({rel})) / "
            "current_setting('block_size')::int" if with_snapshot else "")
    return (f"SELECT ({cols}), (SELECT coalesce(max(deleted_at), now()) FROM ops_deleted_rows)"
            f"{snap}")


def columns(table: Table, cols) -> list[str]:
    if not cols:
        raise LookupError(f"table {table.name} does not exist in PostgreSQL")
    return [c for c in cols if c not in table.exclude]


def select(table: Table, cols: list[str], where: str = "") -> str:
    col_sql = ", ".join(f'"{c}"' for c in cols)
    return f'SELECT {col_sql} FROM "{table.name}"' + (f" WHERE {where}" if where else "")


def lit(value) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def ctid_range(i: int, streams: int, pages: int) -> str:
    lo, hi = pages * i // streams, pages * (i + 1) // streams
    conds = ([f"ctid >= '({lo},0)'::tid"] if i > 0 else []) + (
        [f"ctid < '({hi},0)'::tid"] if i < streams - 1 else [])  # the last range is open
    return " AND ".join(conds)
