"""Source-vs-warehouse reconciliation: per UTC day, row counts (and money sums) in raw.<t>
equal those in PostgreSQL."""

from __future__ import annotations

import duckdb

from pipelines.pg_source import pg_connect
from pipelines.tables import Table


def reconcile_daily(con: duckdb.DuckDBPyConnection, database_url: str,
                    table: Table) -> tuple[list[dict], int]:
    date_col, money_col = table.reconcile
    money = f'sum("{money_col}")::bigint' if money_col else "0::bigint"
    pg = pg_connect(database_url)
    try:
        with pg.cursor() as cur:
            cur.execute(f"""SELECT ("{date_col}" AT TIME ZONE 'UTC')::date AS day,
                            count(*)::bigint AS n, {money} AS m FROM "{table.name}" GROUP BY 1""")
            source = cur.fetch_arrow_table()  # one row per day: small
    finally:
        pg.close()
    con.execute("SET TimeZone = 'UTC'")
    rows = con.execute(f"""
        WITH w AS (SELECT CAST("{date_col}" AS DATE) AS day, count(*) AS n, {money} AS m
                   FROM raw."{table.name}" GROUP BY 1)
        SELECT CAST(coalesce(w.day, s.day) AS VARCHAR), s.n, w.n, s.m, w.m
        FROM w FULL OUTER JOIN source s ON w.day = s.day
        WHERE w.n IS DISTINCT FROM s.n OR w.m IS DISTINCT FROM s.m
        ORDER BY 1""").fetchall()
    diffs = [{"day": d, "source_rows": sn, "warehouse_rows": wn, "source_sum": ss,
              "warehouse_sum": ws} for d, sn, wn, ss, ws in rows]
    return diffs, source.num_rows
