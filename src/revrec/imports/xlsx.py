"""Reading an XLSX upload: the first (or the named) sheet's cells as strings with their sheet row
numbers, and the cells that hold a formula without a saved value or an Excel error (calamine
reads both as empty), found by scanning the sheet's XML."""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO
from xml.etree import ElementTree as ET
from xml.sax.saxutils import unescape

import fastexcel
import polars as pl

from revrec.errors import InputError
from revrec.imports.mappings import Mapping
from revrec.imports.reading import SHOWN, TITLE_ROWS, Bad, Read, check_headings

# Excel keeps 15 significant digits; a computed cell such as 12.300000000000001 means 12.3.
EXCEL_DIGITS = 15
BLOCK = 1 << 22  # bytes of an XLSX sheet's XML scanned at a time for formulas and errors


def read_excel(path: Path, sheet: str | None, mapping: Mapping | None) -> tuple[Read, str]:
    try:
        reader = fastexcel.read_excel(path)
        names = list(reader.sheet_names)
        if sheet is not None and sheet not in names:
            shown = ", ".join(repr(n) for n in names)
            raise InputError(f"{path.name}: no sheet named {sheet!r} (the sheets: {shown})")
        if not names:
            raise InputError(f"{path.name}: the workbook has no sheet")
        name = sheet if sheet is not None else names[0]
        # skip_rows=0 keeps the empty rows above the first used one, so row k is sheet row k+1.
        loaded = reader.load_sheet(name, header_row=None, dtypes="string", skip_rows=0)
        cells = loaded.to_polars()
    except (fastexcel.FastExcelError, OSError, ValueError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"{path.name}: not a readable XLSX file ({first})") from None
    where = f"{path.name}, sheet {name!r}"
    cells = cells.rename({c: f"column_{i}" for i, c in enumerate(cells.columns)})
    cells = cells.select(_excel_cell(c) for c in cells.columns).with_columns(
        pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("line")
    )
    used = cells.select(pl.any_horizontal(pl.exclude("line").is_not_null())).to_series()
    if not used.any():
        raise InputError(f"{where}: the sheet is empty: expected a heading row")
    # Empty rows above the headings are skipped (the line numbers stay the sheet's rows).
    heading_row = int(used.arg_true()[0])
    cells = cells.slice(heading_row)
    heading_line = heading_row + 1
    bad = _excel_problems(path, name, cells, heading_line, where)
    if mapping is not None:
        rows = [(int(r[-1]), list(r[:-1])) for r in cells.head(TITLE_ROWS + 1).iter_rows()]
        others = [n for n in names if n != name] if sheet is None else []
        check_headings(rows, mapping, path.name, name, others)
    if bad:
        lines = pl.Series([b.line for b in bad], dtype=pl.Int64)
        cells = cells.filter(~pl.col("line").is_in(lines.implode()))
    return Read(cells, bad), where


def _excel_cell(name: str) -> pl.Expr:
    """A cell as calamine gives it, made into what the validators read."""
    cell = pl.col(name)
    whole_day = r"^(\d{4}-\d{2}-\d{2}) 00:00:00$"
    stamp = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$"
    digits = cell.str.replace_all(r"[-.]", "").str.len_chars()
    value = (
        # A date cell reads as 'YYYY-MM-DD 00:00:00'; a date-time cell is taken as UTC.
        pl.when(cell.str.contains(whole_day))
        .then(cell.str.slice(0, 10))
        .when(cell.str.contains(stamp))
        .then(cell + " UTC")
        .when(cell.str.contains(r"^-?\d+\.\d+$") & (digits > EXCEL_DIGITS))
        .then(
            cell.cast(pl.Float64, strict=False)
            .round_sig_figs(EXCEL_DIGITS)
            .cast(pl.String)
            .str.replace(r"\.0$", "")
        )
        .otherwise(cell)
    )
    return pl.when(value != "").then(value).alias(name)


# A cell with a formula: (column, row, attributes, formula text, the saved value element if any).
_FORMULA = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]+)"([^>]*)>(?:<f[^>]*/>|<f[^>]*>([^<]*)</f>)(<v>[^<]*</v>|<v/>)?'
)
# A cell holding an Excel error (#DIV/0!, #N/A, #REF!, ...): column, row, the error.
_ERROR = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]+)"[^>]*?\bt="e"[^>]*>(?:<f[^>]*/>|<f[^>]*>[^<]*</f>)?<v>([^<]*)</v>'
)


def _excel_problems(
    path: Path, sheet: str, cells: pl.DataFrame, heading_line: int, where: str
) -> list[Bad]:
    """A `Bad` per data row with a cell that has a formula but no saved value (calamine reads
    it as empty) or an Excel error (read as empty too); such a cell among the headings rejects
    the file. Best effort: a workbook laid out unusually is not scanned."""
    found: dict[int, str] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            part = _sheet_part(archive, sheet)
            if part is None:
                return []
            with archive.open(part) as stream:
                for ref, row, problem in _cell_problems(stream):
                    if row == heading_line:
                        raise InputError(f"{where}: the heading in cell {ref}: {problem}")
                    if row > heading_line and row not in found:
                        found[row] = f"cell {ref}: {problem}"
    except (zipfile.BadZipFile, KeyError, ET.ParseError, OSError):
        return []
    if not found:
        return []
    by_line = {int(r[-1]): list(r[:-1]) for r in cells.filter(
        pl.col("line").is_in(pl.Series(list(found), dtype=pl.Int64).implode())
    ).iter_rows()}  # fmt: skip
    return [
        Bad(
            line,
            ", ".join(c for c in by_line.get(line, []) if c is not None)[:SHOWN],
            message,
            by_line.get(line),
        )
        for line, message in sorted(found.items())
    ]


def _cell_problems(stream: IO[bytes]) -> Iterator[tuple[str, int, str]]:
    """(cell, row, problem) of a sheet's XML, read BLOCK bytes at a time."""
    carry = b""
    while True:
        block = stream.read(BLOCK)
        buffer = carry + block
        cut = buffer.rfind(b"<c ") if block else len(buffer)
        if cut <= 0:
            carry = buffer
            if not block:
                return
            continue
        part, carry = buffer[:cut], buffer[cut:]
        if b"<f" in part:
            for match in _FORMULA.finditer(part):
                column, row, attributes, formula, saved = match.groups()
                text_result = b't="str"' in attributes
                if saved is None or (saved in (b"<v/>", b"<v></v>") and not text_result):
                    shown = unescape((formula or b"").decode("utf-8", errors="replace"))
                    formula_text = f" (={shown})" if shown else ""
                    yield (
                        f"{column.decode()}{row.decode()}",
                        int(row),
                        (
                            f"a formula{formula_text} without a saved value: open the file in "
                            "Excel and save it again (or paste the values) so that the results "
                            "are stored"
                        ),
                    )
        if b't="e"' in part:
            for match in _ERROR.finditer(part):
                column, row, value = match.groups()
                code = unescape(value.decode("utf-8", errors="replace"))
                yield (f"{column.decode()}{row.decode()}", int(row), f"the Excel error {code}")
        if not block:
            return


def _sheet_part(archive: zipfile.ZipFile, sheet: str) -> str | None:
    """The archive path of the worksheet named `sheet`, from the workbook and its relations."""
    workbook = _workbook_path(archive)
    folder = PurePosixPath(workbook).parent
    rels = f"{folder}/_rels/{PurePosixPath(workbook).name}.rels"
    sheet_id = None
    for element in _xml(archive.read(workbook)).iter():
        if element.tag.endswith("}sheet") and element.get("name") == sheet:
            sheet_id = next((v for k, v in element.attrib.items() if k.endswith("}id")), None)
    if sheet_id is None:
        return None
    for element in _xml(archive.read(rels)).iter():
        if element.get("Id") == sheet_id:
            target = element.get("Target", "")
            return target.lstrip("/") if target.startswith("/") else f"{folder}/{target}"
    return None


def _xml(data: bytes) -> ET.Element:
    """A workbook part: a few kB written by a spreadsheet program; expat (2.4.1 and later)
    refuses the entity-expansion attacks that S314 is about, and calamine read it first."""
    return ET.fromstring(data)  # noqa: S314


def _workbook_path(archive: zipfile.ZipFile) -> str:
    for element in _xml(archive.read("_rels/.rels")).iter():
        if element.get("Type", "").endswith("/officeDocument"):
            return element.get("Target", "xl/workbook.xml").lstrip("/")
    return "xl/workbook.xml"


# YAML
