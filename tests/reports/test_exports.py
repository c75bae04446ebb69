"""Downloads in every format, streaming in batches, scheduled export files and retention."""

from __future__ import annotations

import csv
import io
import os
import time
import zipfile

import pyarrow.parquet as pq
import pytest

BASE = "/api/v1/reports"


def test_csv_streams_every_row_in_batches(client, analyst, detail_report, monkeypatch):
    from api.reports import exports

    monkeypatch.setattr(exports, "BATCH_ROWS", 64)
    with client.stream("GET", f"{BASE}/{detail_report['id']}/export.csv",
                       headers=analyst[1]) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/csv")
        assert "attachment" in resp.headers["content-disposition"]
        chunks = [c for c in resp.iter_bytes() if c]
    rows = list(csv.reader(io.StringIO(b"".join(chunks).decode())))
    assert rows[0][0] == "user_id" and len(rows) == 301
    assert sum(1 for r in rows if r[0] == "user_id") == 1  # one header across the batches
    assert rows[1][0] == "1" and rows[-1][0] == "300"


def test_xlsx_and_parquet_hold_every_row(client, analyst, detail_report):
    x = client.get(f"{BASE}/{detail_report['id']}/export.xlsx?min_id=101", headers=analyst[1])
    assert x.status_code == 200
    sheet = zipfile.ZipFile(io.BytesIO(x.content)).read("xl/worksheets/sheet1.xml").decode()
    assert sheet.count("<row ") == 1 + 200
    p = client.get(f"{BASE}/{detail_report['id']}/export.parquet", headers=analyst[1])
    table = pq.read_table(io.BytesIO(p.content))
    assert table.num_rows == 300 and table.column("user_id").to_pylist()[:3] == [1, 2, 3]


def test_pdf_has_the_chart_or_says_why_not(client, analyst, report):
    resp = client.get(f"{BASE}/{report['id']}/export.pdf", headers=analyst[1])
    assert resp.status_code == 200 and resp.content.startswith(b"%PDF")
    if os.path.exists("/usr/bin/chromium"):
        assert b"/Subtype /Image" in resp.content
    else:
        assert b"/Subtype /Image" not in resp.content


def test_unknown_format_is_422(client, analyst, report):
    resp = client.get(f"{BASE}/{report['id']}/export.docx", headers=analyst[1])
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "unknown_format"


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "parquet"])
def test_run_export_writes_a_finished_file(tmp_path, detail_report, fmt):
    from api.reports.exports import run_export

    path = run_export(detail_report["id"], fmt, tmp_path, {"min_id": 250})
    assert path.parent.parent == tmp_path and path.suffix == f".{fmt}"
    assert not list(tmp_path.rglob("*.part"))
    if fmt == "csv":
        assert len(path.read_text().strip().splitlines()) == 1 + 51
    if fmt == "parquet":
        assert pq.read_table(path).num_rows == 51


def test_run_export_uses_the_subscribers_scope(tmp_path, detail_report, make_user):
    from api.reports.exports import run_export

    customer, _ = make_user(roles=["customer"])
    path = run_export(detail_report["id"], "csv", tmp_path, user_id=customer.id)
    lines = path.read_text().strip().splitlines()
    assert len(lines) == 1 + (1 if customer.id <= 300 else 0)
    with pytest.raises(ValueError):
        run_export(detail_report["id"], "csv", tmp_path, user_id=10**9)


def test_retention_keeps_the_newest_and_recent_files(tmp_path):
    from api.reports.exports import apply_retention

    now = time.time()
    d = tmp_path / "users"
    d.mkdir()
    ages = {"a.csv": 40, "b.csv": 35, "c.csv": 2, "keep.txt": 99}
    for name, days in ages.items():
        (d / name).write_text("x")
        os.utime(d / name, (now - days * 86400, now - days * 86400))
    old = tmp_path / "old-only"
    old.mkdir()
    (old / "z.xlsx").write_text("x")
    os.utime(old / "z.xlsx", (now - 100 * 86400,) * 2)
    removed = apply_retention(tmp_path, keep_days=30, keep_latest=1, now=now)
    assert sorted(p.name for p in removed) == ["a.csv", "b.csv"]
    assert (d / "c.csv").exists() and (d / "keep.txt").exists() and (old / "z.xlsx").exists()


def test_xlsx_cells_are_never_formulas(tmp_path):
    from types import SimpleNamespace

    import duckdb

    from api.reports.exports import write_xlsx
    from dashboards.warehouse import Pending

    con = duckdb.connect()
    cur = con.cursor()
    q = Pending(cur, cur.sql("SELECT '=HYPERLINK(\"http://evil\",\"x\")' AS name, "
                             "'https://example.com' AS site"))
    write_xlsx(q, tmp_path / "x.xlsx", SimpleNamespace(name="t").name)
    sheet = zipfile.ZipFile(tmp_path / "x.xlsx").read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "hyperlink" not in sheet.lower().replace("=hyperlink", "")


RISKY_QUERY = """SELECT * FROM (VALUES
    (1, '=1+1', -5, -2.5::DOUBLE, TRUE, DATE '2026-01-02', 'a=b'),
    (2, '+cmd|'' /C calc''!A0', 7, 0.5, FALSE, DATE '2026-01-03', '-minus'),
    (3, '@SUM(A1:A2)', 0, -0.25, NULL, NULL, chr(9) || 'tab'),
    (4, chr(13) || 'cr', NULL, NULL, TRUE, DATE '2026-01-04', 'safe text'),
    (5, NULL, 12, 1.0, FALSE, DATE '2026-01-05', ' =space first')
) t(n, "=evil", amount, ratio, flag, day, note)"""
NEUTRALISED = {
    1: ("'=1+1", "a=b"), 2: ("'+cmd|' /C calc'!A0", "'-minus"), 3: ("'@SUM(A1:A2)", "'\ttab"),
    4: ("'\rcr", "safe text"), 5: (None, " =space first"),
}


def _risky():
    import duckdb

    from dashboards.warehouse import Pending

    cur = duckdb.connect().cursor()
    return Pending(cur, cur.sql(RISKY_QUERY))


def test_csv_neutralises_formulas_and_keeps_numbers():
    from api.reports.exports import csv_chunks

    text = b"".join(csv_chunks(_risky())).decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["n", "'=evil", "amount", "ratio", "flag", "day", "note"]
    for row in rows[1:]:
        name, note = NEUTRALISED[int(row[0])]
        assert (row[1], row[6]) == (name or "", note)
    # Numbers stay numbers (a negative amount is not text and is never quoted).
    assert [r[2] for r in rows[1:]] == ["-5", "7", "0", "", "12"]
    assert [r[3] for r in rows[1:]] == ["-2.5", "0.5", "-0.25", "", "1"]


def _sheet_cells(path) -> list[list[tuple[str | None, str | None]]]:
    """(cell type, text or value) per cell of the first sheet, parsed as XML."""
    import xml.etree.ElementTree as ET

    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():  # every part is well-formed XML
            ET.fromstring(z.read(name))
        root = ET.fromstring(z.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in root.iterfind(".//m:row", ns):
        cells = []
        for c in row.iterfind("m:c", ns):
            t = c.find("m:is/m:t", ns)
            v = c.find("m:v", ns)
            cells.append((c.get("t"), t.text if t is not None else (v.text if v is not None
                                                                   else None)))
        rows.append(cells)
    return rows


def test_xlsx_neutralises_formulas_and_keeps_numbers(tmp_path):
    from api.reports.exports import write_xlsx

    write_xlsx(_risky(), tmp_path / "r.xlsx", "risky")
    rows = _sheet_cells(tmp_path / "r.xlsx")
    assert [v for _, v in rows[0]] == ["n", "'=evil", "amount", "ratio", "flag", "day", "note"]
    for row in rows[1:]:
        name, note = NEUTRALISED[int(row[0][1])]
        assert row[1] == (("inlineStr", name) if name else (None, None))
        assert row[6] == ("inlineStr", note)
    # Numbers are numeric cells (no type attribute), booleans booleans, dates serial numbers.
    assert [c[2] for c in rows[1:]] == [(None, "-5"), (None, "7"), (None, "0"), (None, None),
                                        (None, "12")]
    assert [c[3][1] for c in rows[1:]] == ["-2.5", "0.5", "-0.25", None, "1"]
    assert [c[4] for c in rows[1:3]] == [("b", "1"), ("b", "0")]
    assert rows[1][5] == (None, "46024")  # 2026-01-02 as an Excel serial day
    with zipfile.ZipFile(tmp_path / "r.xlsx") as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_xlsx_truncates_at_the_sheet_limit_with_a_note(tmp_path, monkeypatch):
    import duckdb

    from api.reports import exports
    from dashboards.warehouse import Pending

    monkeypatch.setattr(exports, "XLSX_MAX_ROWS", 250)
    monkeypatch.setattr(exports, "BATCH_ROWS", 100)
    cur = duckdb.connect().cursor()
    q = Pending(cur, cur.sql("SELECT i AS n, 'row ' || i AS label FROM range(1000) t(i)"))
    assert exports.write_xlsx(q, tmp_path / "t.xlsx", "big: [sheet]/name") == 250
    rows = _sheet_cells(tmp_path / "t.xlsx")
    assert len(rows) == 251 and rows[-1] == [(None, "249"), ("inlineStr", "row 249")]
    with zipfile.ZipFile(tmp_path / "t.xlsx") as z:
        workbook = z.read("xl/workbook.xml").decode()
        assert 'name="big   sheet  name"' in workbook and 'name="notes"' in workbook
        assert "truncated at 250 rows" in z.read("xl/worksheets/sheet2.xml").decode()
