"""Report files: CSV, XLSX, Parquet streamed from DuckDB record batches (memory stays flat
whatever the row count), and a PDF with the report's chart.

CSV is produced batch by batch straight into the response. XLSX (api.reports.xlsx, a
vectorised streaming writer) and Parquet need a whole file, so they are written batch by batch
to a temporary file that is then streamed and removed.

CSV and XLSX are opened by spreadsheets, so text that a spreadsheet could take for a formula
(starting with =, +, -, @, tab or carriage return) is neutralised with a leading single quote,
as OWASP's CSV injection guidance says; numbers, dates and booleans are left as they are. The PDF holds the chart (plotly rendered by kaleido through
Debian's chromium) and the first rows; without chromium it is a table-only PDF that says so.
"""

from __future__ import annotations

import io
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa

from api.reports.models import ReportDefinition
from dashboards.warehouse import Pending

log = logging.getLogger("ehb.reports")

BATCH_ROWS = 50_000
XLSX_MAX_ROWS = 1_048_575  # Excel's sheet limit, less the header
PDF_MAX_ROWS = 200
CHROMIUM = "/usr/bin/chromium"
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "parquet": "application/vnd.apache.parquet",
    "pdf": "application/pdf",
}


def _batches(query: Pending) -> Iterator[pa.RecordBatch]:
    # DuckDB 2's relation.to_arrow_reader (fetch_record_batch in DuckDB 1): batches of
    # BATCH_ROWS produced as they are read, so memory does not grow with the result.
    yield from query.batches(BATCH_ROWS)


def csv_chunks(cursor, counted: list[int] | None = None) -> Iterator[bytes]:
    """CSV bytes batch by batch; `counted`, when given, gets each batch's row count added."""
    import pyarrow.csv as pacsv

    first = True
    try:
        for batch in _batches(cursor):
            if counted is not None:
                counted[0] += batch.num_rows
            sink = io.BytesIO()
            table = pa.Table.from_batches([_plain(batch)])
            pacsv.write_csv(table, sink, pacsv.WriteOptions(include_header=first))
            first = False
            yield sink.getvalue()
        if first:  # no rows: still a header
            names = [safe_name(n).replace('"', '""') for n in cursor.columns]
            yield (",".join(f'"{n}"' for n in names) + "\n").encode()
    finally:
        cursor.close()


FORMULA_START = "=+-@\t\r"  # OWASP: a spreadsheet may evaluate text starting with these


def safe_name(text: str) -> str:
    return "'" + text if text[:1] and text[0] in FORMULA_START else text


def neutralise(col: pa.Array) -> pa.Array:
    """Text starting like a formula gets a leading single quote (OWASP CSV injection)."""
    import pyarrow.compute as pc

    risky = pc.fill_null(pc.match_substring_regex(col, "^[=+\\-@\t\r]"), False)
    if not pc.any(risky).as_py():
        return col
    return pc.if_else(risky, pc.binary_join_element_wise("'", col, ""), col)


def _plain(batch: pa.RecordBatch) -> pa.RecordBatch:
    """What CSV and Excel cells hold: lists (e.g. roles) become text, and text that starts
    like a formula is neutralised (column names too); other types are left as they are."""
    import pyarrow.compute as pc

    cols, names = [], []
    for name, col in zip(batch.schema.names, batch.columns):
        if pa.types.is_dictionary(col.type):
            col = col.dictionary_decode()
        if pa.types.is_list(col.type) or pa.types.is_large_list(col.type):
            col = pc.binary_join(pc.cast(col, pa.list_(pa.string())), ", ")
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type):
            col = neutralise(col)
        cols.append(col)
        names.append(safe_name(name))
    return pa.RecordBatch.from_arrays(cols, names=names)


def write_xlsx(cursor, path: Path, title: str) -> int:
    """Cells hold data, never formulas or links (a display name like "=HYPERLINK(...)" is
    neutralised text); one batch in memory at a time."""
    from api.reports.xlsx import XlsxStream

    rows_written = 0
    book = XlsxStream(path, title, [safe_name(n) for n in cursor.columns])
    try:
        truncated = False
        for batch in _batches(cursor):
            room = XLSX_MAX_ROWS - rows_written
            if batch.num_rows > room:
                batch, truncated = batch.slice(0, room), True
            book.write_batch(_plain(batch))
            rows_written += batch.num_rows
            if truncated:
                break
        note = (f"truncated at {XLSX_MAX_ROWS:,} rows (Excel's sheet limit); "
                "download CSV or Parquet for every row")
        notes = [("notes", note)] if truncated else []
        book.close(notes)
    except BaseException:
        book.abort()
        raise
    finally:
        cursor.close()
    return rows_written


def write_parquet(cursor, path: Path) -> int:
    import pyarrow.parquet as pq

    rows = 0
    writer = None
    try:
        for batch in _batches(cursor):
            if writer is None:
                writer = pq.ParquetWriter(str(path), batch.schema, compression="zstd")
            writer.write_batch(batch)
            rows += batch.num_rows
        if writer is None:  # no rows: an empty file with the right columns
            writer = pq.ParquetWriter(str(path), cursor.batches(1).schema)
    finally:
        if writer is not None:
            writer.close()
        cursor.close()
    return rows


def chart_png(defn: ReportDefinition, columns: list[str], rows: list[tuple]) -> bytes | None:
    """The report's chart as PNG, or None when there is no chart or no chromium to draw it."""
    chart = defn.chart
    if not chart or not os.path.exists(CHROMIUM):
        return None
    if chart["x"] not in columns or any(y not in columns for y in chart["y"]):
        return None
    os.environ.setdefault("BROWSER_PATH", CHROMIUM)
    import plotly.io as pio

    xi = columns.index(chart["x"])
    traces = []
    for y in chart["y"]:
        yi = columns.index(y)
        trace = {"x": [r[xi] for r in rows], "y": [r[yi] for r in rows], "name": y}
        trace.update({"type": "bar"} if chart["kind"] == "bar" else
                     {"type": "scatter", "mode": "lines"})
        traces.append(trace)
    fig = {"data": traces, "layout": {"title": {"text": defn.name}, "template": "plotly_white",
                                      "margin": {"l": 50, "r": 20, "t": 50, "b": 40}}}
    try:
        return pio.to_image(fig, format="png", width=1000, height=450)
    except Exception as exc:  # a broken browser must not cost the user their report
        log.warning("chart rendering failed: %s", type(exc).__name__)
        return None


def write_pdf(cursor, path: Path, defn: ReportDefinition, params: dict[str, Any]) -> int:
    from fpdf import FPDF

    try:
        columns = cursor.columns
        rows = cursor.head(PDF_MAX_ROWS + 1)
    finally:
        cursor.close()
    truncated = len(rows) > PDF_MAX_ROWS
    rows = rows[:PDF_MAX_ROWS]
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.add_page()
    pdf.set_font("helvetica", "B", 14)
    pdf.cell(0, 8, _latin(defn.name), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("helvetica", "", 9)
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if v is not None) or "none"
    pdf.cell(0, 5, _latin(f"Generated {datetime.now(UTC):%Y-%m-%d %H:%M UTC} - parameters: "
                          f"{shown}"), new_x="LMARGIN", new_y="NEXT")
    png = chart_png(defn, columns, rows)
    if png:
        pdf.image(io.BytesIO(png), w=250)
    elif defn.chart:
        pdf.cell(0, 6, "Chart not included: no chromium at /usr/bin/chromium to render it "
                       "(table only).", new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    with pdf.table(text_align="LEFT", first_row_as_headings=True) as table:
        table.row([_latin(c) for c in columns])
        for r in rows:
            table.row([_latin(_cell(v)) for v in r])
    if truncated:
        pdf.ln(2)
        pdf.cell(0, 6, f"First {PDF_MAX_ROWS} rows shown; download CSV, XLSX or Parquet for "
                       "all rows.", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return len(rows)


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.4g}"
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)[:60]


def _latin(text: str) -> str:
    # The core PDF fonts are Latin-1 only.
    return str(text).encode("latin-1", "replace").decode("latin-1")


def write_file(fmt: str, cursor, path: Path, defn: ReportDefinition, params: dict) -> int:
    if fmt == "xlsx":
        return write_xlsx(cursor, path, defn.name)
    if fmt == "parquet":
        return write_parquet(cursor, path)
    if fmt == "pdf":
        return write_pdf(cursor, path, defn, params)
    if fmt == "csv":
        counted = [0]
        with open(path, "wb") as fh:
            for chunk in csv_chunks(cursor, counted):
                fh.write(chunk)
        return counted[0]
    raise ValueError(f"unknown format {fmt!r}")


def file_chunks(path: Path, chunk: int = 1 << 20) -> Iterator[bytes]:
    """Stream a finished temporary file, then remove it."""
    try:
        with open(path, "rb") as fh:
            while data := fh.read(chunk):
                yield data
    finally:
        path.unlink(missing_ok=True)
        shutil.rmtree(path.parent, ignore_errors=True)


def temp_path(fmt: str) -> Path:
    return Path(tempfile.mkdtemp(prefix="ehb-report-")) / f"report.{fmt}"


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "report"


def run_export(definition_id: int, fmt: str, dest_dir: Path | str,
               parameters: dict[str, Any] | None = None, user_id: int | None = None) -> Path:
    """Write one report file under dest_dir/<report-slug>/ (see export_file)."""
    return export_file(definition_id, fmt, dest_dir, parameters, user_id)[0]


def export_file(definition_id: int, fmt: str, dest_dir: Path | str,
                parameters: dict[str, Any] | None = None,
                user_id: int | None = None) -> tuple[Path, int]:
    """Write one report file under dest_dir/<report-slug>/ (for the scheduled exports) and
    return it with the rows written (for a PDF, the rows shown).

    The rows are those `user_id` may see (a subscriber's scope); without a user, the report's
    owner's; a report without an owner runs unrestricted only for operators' schedules.
    """
    from api.auth.models import User
    from api.db import session_scope
    from api.reports.service import bind, execute, get_definition
    from dashboards.scope import Scope, scope_for

    if fmt not in MEDIA_TYPES:
        raise ValueError(f"format must be one of {', '.join(MEDIA_TYPES)}")
    with session_scope() as session:
        defn = get_definition(session, definition_id)
        session.expunge(defn)
        who = user_id or defn.owner_id
        viewer = session.get(User, who) if who else None
        if who and (viewer is None or not viewer.is_active):
            raise ValueError(f"user {who} does not exist or is disabled: no export for them")
        scope = scope_for(viewer.id, viewer.roles) if viewer is not None else Scope.everything()
    params = bind(defn, parameters or {})
    out_dir = Path(dest_dir) / slug(defn.name)
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    final = out_dir / f"{slug(defn.name)}-{stamp}.{fmt}"
    partial = final.with_suffix(final.suffix + ".part")
    try:
        rows = write_file(fmt, execute(defn, params, scope), partial, defn, params)
        os.replace(partial, final)  # readers never see a half-written export
    finally:
        partial.unlink(missing_ok=True)
    log.info("report export written report_id=%s format=%s bytes=%s", definition_id, fmt,
             final.stat().st_size)
    return final, rows


def apply_retention(dest_dir: Path | str, keep_days: int, keep_latest: int = 1,
                    now: float | None = None) -> list[Path]:
    """Delete export files older than keep_days, always keeping each report's newest
    `keep_latest`; returns what was removed."""
    now = now or time.time()
    cutoff = now - timedelta(days=keep_days).total_seconds()
    removed = []
    root = Path(dest_dir)
    if not root.exists():
        return removed
    for report_dir in (p for p in root.iterdir() if p.is_dir()):
        files = sorted((p for p in report_dir.iterdir()
                        if p.is_file() and p.suffix.lstrip(".") in MEDIA_TYPES),
                       key=lambda p: p.stat().st_mtime, reverse=True)
        for path in files[keep_latest:]:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed.append(path)
    return removed
