"""`ehb bench exports`: export N rows to each format in a fresh process and report time, file
size and peak memory (RSS), to show memory stays flat as rows grow.

The extra format `xlsxwriter` is the reference for `xlsx`: the same cells (neutralised the
same way) written by xlsxwriter in constant_memory mode, the writer exports used before the
vectorised one, so one run gives the speed ratio."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path
from types import SimpleNamespace
from api.reports import exports
from dashboards.scope import Scope
from dashboards.warehouse import Warehouse

snapshot, fmt, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
defn = SimpleNamespace(name="bench", chart=None)
q = Warehouse(snapshot).pending("SELECT * FROM marts.dim_users", {}, Scope.everything())
t = time.perf_counter()
if fmt == "xlsxwriter":
    from api.reports.bench import xlsxwriter_reference
    xlsxwriter_reference(q, out, defn.name)
else:
    exports.write_file(fmt, q, out, defn, {})
print(json.dumps({"seconds": time.perf_counter() - t, "bytes": out.stat().st_size,
                  "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_before_mb": base / 1024}))
"""


def xlsxwriter_reference(cursor, path: Path, title: str) -> int:
    """The previous XLSX export (xlsxwriter, constant_memory), kept to measure against."""
    import xlsxwriter

    from api.reports import exports

    rows = 0
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "remove_timezone": True,
                                         "default_date_format": "yyyy-mm-dd hh:mm:ss",
                                         "strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    try:
        ws = wb.add_worksheet(title[:31] or "report")
        ws.write_row(0, 0, [exports.safe_name(n) for n in cursor.columns],
                     wb.add_format({"bold": True}))
        for batch in exports._batches(cursor):
            for values in zip(*(c.to_pylist() for c in exports._plain(batch).columns)):
                rows += 1
                ws.write_row(rows, 0, values)
    finally:
        cursor.close()
        wb.close()
    return rows


def run_bench(rows: list[int], formats: list[str]) -> list[dict]:
    from rich.console import Console
    from rich.table import Table

    from dashboards.sample import build_sample_snapshot

    console = Console()
    results = []
    table = Table(title="ehb bench exports (marts.dim_users, 14 columns)")
    for col in ("rows", "format", "seconds", "MB written", "peak RSS MB", "RSS before MB"):
        table.add_column(col)
    with tempfile.TemporaryDirectory(prefix="ehb-export-bench-") as tmp:
        for n in rows:
            snap = build_sample_snapshot(Path(tmp) / f"snap-{n}.duckdb", users=n, days=730)
            for fmt in formats:
                out = Path(tmp) / f"out-{n}.{'xlsx' if fmt == 'xlsxwriter' else fmt}"
                proc = subprocess.run([sys.executable, "-c", _CHILD, str(snap), fmt, str(out)],
                                      capture_output=True, text=True, check=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                r.update(rows=n, format=fmt)
                results.append(r)
                table.add_row(f"{n:,}", fmt, f"{r['seconds']:.1f}", f"{r['bytes'] / 1e6:.1f}",
                              f"{r['peak_rss_mb']:.0f}", f"{r['rss_before_mb']:.0f}")
                out.unlink()
    console.print(table)
    return results
