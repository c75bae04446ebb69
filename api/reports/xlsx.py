"""A streaming XLSX writer for report exports, vectorised with pyarrow.compute.

Each record batch becomes the sheet XML of its rows through a few column-wise compute calls
(no Python work per cell) and goes straight into a deflated zip member, so memory holds one
batch whatever the row count (like xlsxwriter's constant_memory mode, at a fraction of its
time: see `ehb bench exports`). Cells hold data only, never formulas: text is an inline
string exactly as given (the caller has already neutralised formula-looking text), numbers
are numbers, dates and timestamps Excel serial numbers with a date format, booleans booleans;
NaN and infinities (which Excel cannot hold) are empty cells.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

EXCEL_EPOCH_DAYS = 25_569  # 1970-01-01 as an Excel (1900 system) serial day
MICROS_PER_DAY = 86_400_000_000.0
MAX_CELL_CHARS = 32_767  # Excel's limit per cell
STYLE_DATE, STYLE_DATETIME, STYLE_BOLD = 1, 2, 3
SLICE_ROWS = 10_000
_XML_INVALID = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"  # not allowed in XML 1.0

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = "application/vnd.openxmlformats-officedocument.spreadsheetml"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_STYLES = (
    f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
    '<numFmts count="2"><numFmt numFmtId="164" formatCode="yyyy-mm-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')


def escape_text(col: pa.Array) -> pa.Array:
    """Text made safe for an XML text node, cut to Excel's cell limit."""
    col = pc.utf8_slice_codeunits(col, 0, MAX_CELL_CHARS)
    col = pc.replace_substring_regex(col, _XML_INVALID, "")
    # A literal "_x0041_" would be read back as an escaped character: escape its underscore.
    col = pc.replace_substring_regex(col, r"_(x[0-9A-Fa-f]{4}_)", r"_x005F_\1")
    # (a raw CR would be read back as a line feed: keep it as a character reference)
    for raw, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#13;")):
        col = pc.replace_substring(col, raw, entity)
    return col


def _wrap(values: pa.Array, before: str, after: str) -> pa.Array:
    """before + value + after per cell; an empty <c/> for a null keeps the columns aligned."""
    return pc.fill_null(pc.binary_join_element_wise(before, values, after, ""), "<c/>")


def _text_cells(col: pa.Array, style: str = "") -> pa.Array:
    return _wrap(escape_text(col), f'<c t="inlineStr"{style}><is><t xml:space="preserve">',
                 "</t></is></c>")


def column_cells(col: pa.Array) -> pa.Array:
    """One column of a batch as its cells' XML."""
    kind = col.type
    if pa.types.is_dictionary(kind):
        col, kind = col.dictionary_decode(), kind.value_type
    if pa.types.is_boolean(kind):
        return _wrap(pc.if_else(col, "1", "0"), '<c t="b"><v>', "</v></c>")
    if pa.types.is_integer(kind):
        return _wrap(col.cast(pa.string()), "<c><v>", "</v></c>")
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        number = col.cast(pa.float64())
        number = pc.if_else(pc.is_finite(number), number, pa.scalar(None, pa.float64()))
        return _wrap(number.cast(pa.string()), "<c><v>", "</v></c>")
    if pa.types.is_timestamp(kind):
        if kind.tz:  # the wall time in the column's zone, as xlsxwriter's remove_timezone
            col = pc.local_timestamp(col)
        micros = pc.cast(col, pa.timestamp("us"), safe=False).cast(pa.int64())
        serial = pc.add(pc.divide(micros.cast(pa.float64()), MICROS_PER_DAY), EXCEL_EPOCH_DAYS)
        return _wrap(serial.cast(pa.string()), f'<c s="{STYLE_DATETIME}"><v>', "</v></c>")
    if pa.types.is_date(kind):
        days = pc.cast(col, pa.date32()).cast(pa.int32()).cast(pa.int64())
        return _wrap(pc.add(days, EXCEL_EPOCH_DAYS).cast(pa.string()),
                     f'<c s="{STYLE_DATE}"><v>', "</v></c>")
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind)):
        try:
            col = col.cast(pa.string())
        except (pa.ArrowNotImplementedError, pa.ArrowInvalid):  # nested types: their repr
            col = pa.array([None if v is None else str(v) for v in col.to_pylist()], pa.string())
    return _text_cells(col)


def _joined_bytes(parts: list) -> pa.Buffer:
    rows = pc.binary_join_element_wise(*parts, "")
    whole = pc.binary_join(pa.ListArray.from_arrays(pa.array([0, len(rows)], pa.int32()), rows),
                           "")
    return whole[0].as_buffer()


def sheet_name(title: str, taken: set[str] = frozenset()) -> str:
    """Excel sheet names: at most 31 characters, none of []:*?/\\, not quoted."""
    name = re.sub(r"[\[\]:*?/\\]", " ", title).strip().strip("'")[:31] or "report"
    base, n = name, 1
    while name.lower() in {t.lower() for t in taken}:
        n += 1
        name = f"{base[:27]} ({n})"
    return name


def _xml_attr(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


class XlsxStream:
    """Write the header, then batches, then close (adding any note sheets)."""

    def __init__(self, path: Path, title: str, columns: list[str]):
        self.zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self.sheets = [sheet_name(title)]
        self.sheet = self.zip.open("xl/worksheets/sheet1.xml", "w", force_zip64=True)
        self.sheet.write(f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetData>'.encode())
        self.next_row = 1
        cells = _text_cells(pa.array(columns, pa.string()), f' s="{STYLE_BOLD}"')
        self.sheet.write(f'<row r="1">{"".join(cells.to_pylist())}</row>\n'.encode())
        self.next_row = 2

    def _write(self, parts: list) -> None:
        self.sheet.write(memoryview(_joined_bytes(parts)))

    def write_batch(self, batch: pa.RecordBatch) -> None:
        # Slices bound the XML built at once (a few MB), whatever the caller's batch size.
        for start in range(0, batch.num_rows, SLICE_ROWS):
            self._write_rows(batch.slice(start, SLICE_ROWS))

    def _write_rows(self, batch: pa.RecordBatch) -> None:
        n = batch.num_rows
        if n == 0:
            return
        numbers = pa.array(np.arange(self.next_row, self.next_row + n, dtype=np.int64))
        self._write(['<row r="', numbers.cast(pa.string()), '">',
                     *(column_cells(col) for col in batch.columns), "</row>\n"])
        self.next_row += n

    def close(self, notes: list[tuple[str, str]] = ()) -> None:
        """notes: (sheet title, text) sheets after the data sheet."""
        self.sheet.write(b"</sheetData></worksheet>")
        self.sheet.close()
        for i, (title, text) in enumerate(notes, start=2):
            self.sheets.append(sheet_name(title, set(self.sheets)))
            cell = escape_text(pa.array([text]))[0].as_py()
            self.zip.writestr(f"xl/worksheets/sheet{i}.xml", (
                f'{_HEAD}<worksheet xmlns="{_MAIN}"><sheetData><row r="1"><c t="inlineStr">'
                f'<is><t xml:space="preserve">{cell}</t></is></c></row></sheetData></worksheet>'))
        count = len(self.sheets)
        sheet_types = "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
            f'ContentType="{_CT}.worksheet+xml"/>' for i in range(1, count + 1))
        self.zip.writestr("[Content_Types].xml", (
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" '
            'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            f'<Override PartName="/xl/workbook.xml" ContentType="{_CT}.sheet.main+xml"/>'
            f'<Override PartName="/xl/styles.xml" ContentType="{_CT}.styles+xml"/>'
            f'{sheet_types}</Types>'))
        self.zip.writestr("_rels/.rels", (
            f'{_HEAD}<Relationships xmlns="{_PKG_REL}"><Relationship Id="rId1" '
            f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'))
        sheets = "".join(f'<sheet name="{_xml_attr(name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, name in enumerate(self.sheets, start=1))
        self.zip.writestr("xl/workbook.xml", (
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>{sheets}</sheets>'
            '</workbook>'))
        rels = "".join(f'<Relationship Id="rId{i}" Type="{_REL}/worksheet" '
                       f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, count + 1))
        self.zip.writestr("xl/_rels/workbook.xml.rels", (
            f'{_HEAD}<Relationships xmlns="{_PKG_REL}">{rels}<Relationship '
            f'Id="rId{count + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'))
        self.zip.writestr("xl/styles.xml", _STYLES)
        self.zip.close()

    def abort(self) -> None:
        try:
            self.sheet.close()
        finally:
            self.zip.close()
