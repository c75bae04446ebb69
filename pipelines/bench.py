"""`ehb bench ingest`: figures measured in one run on a table of N rows (default 5M).

- full load (`parallel` ctid-range COPY BINARY streams over one snapshot -> Arrow -> DuckDB,
  swap and watermark) vs the extraction floor `COPY ... TO STDOUT (FORMAT BINARY)` of the same
  table by psql, as a ratio;
- peak RSS of the full load (in a child process, at N/5 and N rows: flat = bounded);
- incremental run after 1% of rows changed (scattered over every page), as % of the full-load
  time: in a process that has ingested another table before (as for every table of a pipeline
  run after its first), and as a fresh process's first table;
- folding the delta into base (compaction) when it has reached COMPACT_FRACTION of the rows
  (10%), as at 1% per run every tenth run does; and the incremental with that share added;
- the full load's CPU time in the ingesting process (the COPY's parsing and DuckDB's writes;
  the PostgreSQL backends' share is not in it);
- the 1-minute load average before and after: other processes on the same cores make every
  figure noisy, the ratios are measured within one run for that reason;
- freshness: one operational write -> visible in the published snapshot through an
  incremental pipeline run (ingest, validate, dbt build, publish).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pipelines.ingest_delta import COMPACT_FRACTION
from pipelines.pg_source import adbc_uri
from pipelines.tables import Table

BENCH_TABLE = Table("ehb_bench_rows", "bench")
WARM_TABLE = Table("ehb_bench_warm", "bench")  # ingested first by a "warm" process

CREATE = """
DROP TABLE IF EXISTS ehb_bench_rows;
CREATE UNLOGGED TABLE ehb_bench_rows (
    id bigint PRIMARY KEY, account_id bigint NOT NULL, amount bigint NOT NULL,
    currency char(3) NOT NULL, kind text NOT NULL, created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL);
INSERT INTO ehb_bench_rows
SELECT g, g % 50000, (g * 7919) % 100000 - 50000, 'EUR',
       (ARRAY['transfer','topup','payment','refund'])[1 + g % 4],
       now() - (g % 90) * interval '1 day' - (g % 86400) * interval '1 second',
       now() - (g % 90) * interval '1 day' - (g % 86400) * interval '1 second'
FROM generate_series(1::bigint, {rows}) g;
CREATE INDEX ON ehb_bench_rows (updated_at);
ANALYZE ehb_bench_rows;
DROP TABLE IF EXISTS ehb_bench_warm;
CREATE UNLOGGED TABLE ehb_bench_warm AS SELECT * FROM ehb_bench_rows LIMIT 100;
ALTER TABLE ehb_bench_warm ADD PRIMARY KEY (id);
"""

CHILD = """
import json, resource, sys, time, duckdb
from pipelines.bench import BENCH_TABLE
from pipelines.ingest import ingest_table
con = duckdb.connect(sys.argv[1])
con.execute("SET preserve_insertion_order = false")
con.execute("SET memory_limit = '512MB'")
con.execute("SELECT 1").fetchall()
import pyarrow, adbc_driver_postgresql.dbapi  # process warm-up (imports) outside the timing
if sys.argv[5] == "warm":  # as for every table of a pipeline run after its first: one before it
    from pipelines.bench import WARM_TABLE
    ingest_table(con, sys.argv[2], WARM_TABLE)
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
t, cpu0 = time.perf_counter(), cpu()
res = ingest_table(con, sys.argv[2], BENCH_TABLE, full_refresh=sys.argv[4] == "full",
                   parallel=int(sys.argv[3]))
out = {"seconds": time.perf_counter() - t, "cpu_s": cpu() - cpu0, "rows": res.raw_rows,
       "written": res.rows_written, "mode": res.mode, "compacted": res.compacted,
       "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
if sys.argv[4] == "compact":  # then fold the delta into base, as a run past the threshold does
    from pipelines.ingest_delta import compact
    t = time.perf_counter()
    con.execute("BEGIN")
    out["folded"] = compact(con, BENCH_TABLE, res.raw_rows, force=True)
    con.execute("COMMIT")
    out["compaction_s"] = time.perf_counter() - t
print(json.dumps(out))
"""


def _psql(url: str, sql: str, params: dict | None = None) -> None:
    import psycopg

    with psycopg.connect(adbc_uri(url), autocommit=True) as conn:
        conn.execute(sql.replace("{rows}", str(int(params["rows"]))) if params else sql)


def copy_floor(url: str) -> tuple[float, str]:
    """The extraction floor: psql streaming the binary COPY to /dev/null (psycopg if no psql)."""
    import psycopg

    psql = shutil.which("psql")
    if psql:
        t = time.perf_counter()
        with open("/dev/null", "wb") as sink:
            subprocess.run([psql, adbc_uri(url), "-qc",
                            "COPY ehb_bench_rows TO STDOUT (FORMAT BINARY)"],
                           stdout=sink, check=True)
        return time.perf_counter() - t, "psql"
    t = time.perf_counter()
    with psycopg.connect(adbc_uri(url)) as conn, conn.cursor() as cur:
        with cur.copy("COPY ehb_bench_rows TO STDOUT (FORMAT BINARY)") as copy:
            for _ in copy:
                pass
    return time.perf_counter() - t, "psycopg"


def child_load(db: Path, url: str, parallel: int, mode: str = "full", warm: bool = True) -> dict:
    """One ingestion in a fresh process: its own peak RSS, no warm caches of ours. `warm`: the
    process has ingested another (tiny) table first, as a pipeline run's process has for every
    table but its first (the driver's type table, DuckDB's catalog and time zones are loaded)."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(db), url, str(parallel), mode,
                          "warm" if warm else "cold"],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_bench(url: str, rows: int, parallel: int, echo) -> dict:
    figures: dict = {"rows": rows, "parallel": parallel,
                     "load_avg_1m_before": round(os.getloadavg()[0], 1)}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "bench.duckdb"
        small = max(rows // 5, 1)
        echo(f"creating ehb_bench_rows with {small:,} rows ...")
        _psql(url, CREATE, {"rows": small})
        figures["peak_rss_mb_at_fifth"] = round(child_load(db, url, parallel)["peak_rss_mb"])
        echo(f"creating ehb_bench_rows with {rows:,} rows ...")
        _psql(url, CREATE, {"rows": rows})
        floor, tool = copy_floor(url)
        figures["copy_binary_s"], figures["copy_binary_via"] = round(floor, 2), tool
        echo(f"COPY TO STDOUT (FORMAT BINARY): {figures['copy_binary_s']} s; full load ...")
        db.unlink(missing_ok=True)
        full = child_load(db, url, parallel)
        assert full["rows"] == rows, full
        figures["full_load_s"] = round(full["seconds"], 2)
        figures["full_load_client_cpu_s"] = round(full["cpu_s"], 2)  # PostgreSQL's not included
        figures["peak_rss_mb"] = round(full["peak_rss_mb"])
        figures["full_vs_copy_ratio"] = round(figures["copy_binary_s"] / full["seconds"], 2)
        echo(f"full load {figures['full_load_s']} s; changing 1% of rows ...")
        _psql(url, "UPDATE ehb_bench_rows SET amount = amount + 1, updated_at = now() "
                   "WHERE id % 100 = 0")
        # the same delta twice, on two copies of the warehouse: in a process that has ingested
        # another table before (every table of a run but its first), then in a fresh one
        shutil.copy(db, cold_db := Path(tmp) / "bench_cold.duckdb")
        inc = child_load(db, url, parallel, "incremental")
        cold = child_load(cold_db, url, parallel, "incremental", warm=False)
        for run in (inc, cold):
            assert run["mode"] == "incremental" and run["rows"] == rows, run
        # the delta is folded into base once it passes COMPACT_FRACTION of the rows: at 1% a
        # run, every `runs_per_fold`-th run. Measured on a delta of that fraction of the rows.
        runs_per_fold = round(COMPACT_FRACTION * 100)
        echo(f"changing {runs_per_fold - 1}% more rows, then folding a {runs_per_fold}% delta "
             "into base ...")
        _psql(url, "UPDATE ehb_bench_rows SET amount = amount + 1, updated_at = now() "
                   f"WHERE id % 100 BETWEEN 1 AND {runs_per_fold - 1}")
        fold = child_load(db, url, parallel, "compact")
        assert fold["compacted"] == 0 and fold["folded"] == rows * runs_per_fold // 100, fold
        figures["incremental_s"] = round(inc["seconds"], 3)
        figures["incremental_rows_written"] = inc["written"]
        # from the unrounded times: 0.14 s rounded to 2 places would move the % by up to 4%
        figures["incremental_pct_of_full"] = round(100 * inc["seconds"] / full["seconds"], 1)
        figures["incremental_first_in_process_s"] = round(cold["seconds"], 3)
        figures["incremental_first_in_process_pct_of_full"] = round(
            100 * cold["seconds"] / full["seconds"], 1)
        figures[f"compaction_of_{runs_per_fold}pct_delta_s"] = round(fold["compaction_s"], 3)
        figures["incremental_with_compaction_share_pct_of_full"] = round(
            100 * (inc["seconds"] + fold["compaction_s"] / runs_per_fold) / full["seconds"], 1)
    _psql(url, "DROP TABLE IF EXISTS ehb_bench_rows; DROP TABLE IF EXISTS ehb_bench_warm")
    figures["load_avg_1m_after"] = round(os.getloadavg()[0], 1)
    return figures


def freshness(url: str, echo) -> dict:
    """One write through the auth service, then incremental runs until it is in the snapshot."""
    import dagster as dg

    instance = dg.DagsterInstance.ephemeral()
    # A warehouse of its own: the scratch database's data must not replace data/warehouse.
    previous = os.environ.get("EHB_WAREHOUSE_DIR")
    with tempfile.TemporaryDirectory() as warehouse:
        os.environ["EHB_WAREHOUSE_DIR"] = warehouse
        try:
            return _freshness(instance, echo)
        finally:
            if previous is None:
                os.environ.pop("EHB_WAREHOUSE_DIR", None)
            else:
                os.environ["EHB_WAREHOUSE_DIR"] = previous


def _freshness(instance, echo) -> dict:
    import uuid

    from api.auth.service import create_user
    from api.db import session_scope
    from pipelines.run import run_pipeline
    from pipelines.snapshot import SnapshotMissing, query

    t = time.perf_counter()
    run_pipeline(instance=instance)  # warm: definitions loaded, warehouse current
    warm = time.perf_counter() - t
    email = f"fresh-{uuid.uuid4().hex[:10]}@example.com"
    with session_scope() as session:
        user_id = create_user(session, email, "correct horse battery staple").id
    written = time.perf_counter()
    run_pipeline(instance=instance)
    try:
        seen = query("SELECT count(*) FROM marts.dim_users WHERE user_id = ?", [user_id])[0][0]
    except SnapshotMissing:
        seen = 0
    elapsed = time.perf_counter() - written
    echo(f"freshness: write -> snapshot {elapsed:.1f} s (visible={bool(seen)})")
    return {"freshness_s": round(elapsed, 1), "freshness_visible": bool(seen),
            "first_run_s_incl_load": round(warm, 1)}
