"""A streaming XLSX writer: one sheet, a bold heading row frozen above the others, text and
number cells, written as frames arrive so that memory stays flat however many rows there are.

Each row's XML is built by Polars expressions (no Python per cell) and goes straight into the
zip member. Writes only the file it is given.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from xml.sax.saxutils import escape

import polars as pl

from revrec.errors import InputError

MAX_ROWS = 1_048_576  # a sheet's rows, the heading row included
SLICE = 10_000  # rows turned into XML at a time
# Cell styles (cellXfs in styles.xml): general, then whole numbers and 1-4 decimals, then bold.
STYLE_OF_DECIMALS = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}
HEADING_STYLE = 6
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
# Characters XML 1.0 cannot hold at all; a cell drops them.
_NOT_XML = r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]"


@contextmanager
def sheet(
    path: Path,
    columns: Sequence[str],
    *,
    numbers: Mapping[str, str | None],
    name: str = "Sheet1",
) -> Iterator[Callable[[pl.DataFrame], None]]:
    """Write one sheet at `path`: the heading row (`columns`), then each frame given to the
    function yielded. A frame holds text (or null) for each column; a column of `numbers` is
    written as a number, with as many decimals as the frame's column it names (None: as typed).
    More rows than a sheet holds is an InputError."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for member, text in _parts(name).items():
            archive.writestr(_member(member), text, compresslevel=1)
        # Opened by name: the archive's compression, and the same fixed date.
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as out:
            out.write(_sheet_head(columns).encode())
            written = 1

            def write(frame: pl.DataFrame) -> None:
                nonlocal written
                if written + frame.height > MAX_ROWS:
                    raise InputError(
                        f"{path.name}: more than {MAX_ROWS - 1:,} rows, the most an XLSX sheet "
                        "holds: write a .csv file instead, or export fewer rows"
                    )
                for offset in range(0, frame.height, SLICE):
                    part = frame.slice(offset, SLICE)
                    out.write(_rows_xml(part, columns, numbers, written + 1))
                    written += part.height

            yield write
            out.write(b"</sheetData></worksheet>")


def _member(name: str) -> zipfile.ZipInfo:
    # A fixed date: the same rows give the same bytes.
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def _letters(index: int) -> str:
    """A column's letters: 0 -> A, 25 -> Z, 26 -> AA."""
    found = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        found = chr(ord("A") + rest) + found
    return found


def _escaped(value: pl.Expr) -> pl.Expr:
    return (
        value.str.replace_all(_NOT_XML, "")
        .str.replace_all("&", "&amp;", literal=True)
        .str.replace_all("<", "&lt;", literal=True)
        .str.replace_all(">", "&gt;", literal=True)
    )


def _cell(index: int, column: str, numbers: Mapping[str, str | None]) -> pl.Expr:
    value = pl.col(column).cast(pl.String)
    ref = f'<c r="{_letters(index)}{{}}"'
    if column in numbers:
        places = numbers[column]
        style = (
            pl.lit(0)
            if places is None
            else pl.col(places).replace_strict(STYLE_OF_DECIMALS, default=0, return_dtype=pl.Int64)
        )
        cell = pl.format(ref + ' s="{}"><v>{}</v></c>', pl.col("_row"), style, value)
    else:
        cell = pl.format(
            ref + ' t="inlineStr"><is><t xml:space="preserve">{}</t></is></c>',
            pl.col("_row"),
            _escaped(value),
        )
    return pl.when(value.is_null() | (value == "")).then(pl.lit("")).otherwise(cell)


def _rows_xml(
    frame: pl.DataFrame, columns: Sequence[str], numbers: Mapping[str, str | None], first: int
) -> bytes:
    numbered = frame.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + first).alias("_row"))
    rows = numbered.select(
        pl.concat_str(
            pl.format('<row r="{}">', pl.col("_row")),
            *(_cell(i, c, numbers) for i, c in enumerate(columns)),
            pl.lit("</row>"),
        )
    )
    buffer = io.BytesIO()
    # One row a line: the line breaks between elements are plain XML whitespace.
    rows.write_csv(buffer, include_header=False, quote_style="never")
    return buffer.getvalue()


def _sheet_head(columns: Sequence[str]) -> str:
    heading = "".join(
        f'<c r="{_letters(i)}1" s="{HEADING_STYLE}" t="inlineStr"><is><t>{escape(c)}</t></is></c>'
        for i, c in enumerate(columns)
    )
    return (
        f'{_HEAD}<worksheet xmlns="{_MAIN}" xmlns:r="{_REL}">'
        '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
        '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
        '<sheetFormatPr defaultRowHeight="15"/>'
        f'<cols><col min="1" max="{max(len(columns), 1)}" width="18" customWidth="1"/></cols>'
        f'<sheetData><row r="1">{heading}</row>\n'
    )


def _parts(name: str) -> dict[str, str]:
    """Every part of the package but the sheet's data."""
    sheet_type = f"{_REL}/worksheet"
    return {
        "[Content_Types].xml": (
            f'{_HEAD}<Types xmlns="{_PKG}/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/></Types>'
        ),
        "_rels/.rels": (
            f'{_HEAD}<Relationships xmlns="{_PKG}/relationships">'
            f'<Relationship Id="rId1" Type="{_REL}/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            f'<sheet name="{escape(name, {chr(34): "&quot;"})}" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            f'{_HEAD}<Relationships xmlns="{_PKG}/relationships">'
            f'<Relationship Id="rId1" Type="{sheet_type}" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{_REL}/styles" Target="styles.xml"/>'
            "</Relationships>"
        ),
        "xl/styles.xml": _styles(),
    }


def _styles() -> str:
    # Built-in number formats 1 ("0") and 2 ("0.00"); 164-166 are ours.
    formats = {0: 1, 1: 164, 2: 2, 3: 165, 4: 166}
    custom = {164: "0.0", 165: "0.000", 166: "0.0000"}
    numeric = "".join(
        f'<xf numFmtId="{formats[d]}" fontId="0" fillId="0" borderId="0" xfId="0" '
        'applyNumberFormat="1"/>'
        for d in sorted(STYLE_OF_DECIMALS)
    )
    return (
        f'{_HEAD}<styleSheet xmlns="{_MAIN}">'
        f'<numFmts count="{len(custom)}">'
        + "".join(f'<numFmt numFmtId="{i}" formatCode="{code}"/>' for i, code in custom.items())
        + "</numFmts>"
        '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
        '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
        '<fills count="2"><fill><patternFill patternType="none"/></fill>'
        '<fill><patternFill patternType="gray125"/></fill></fills>'
        '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
        '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
        "</cellStyleXfs>"
        f'<cellXfs count="{len(STYLE_OF_DECIMALS) + 2}">'
        '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
        + numeric
        + '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
        "</cellXfs>"
        '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
        "</styleSheet>"
    )
