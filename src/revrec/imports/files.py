"""Reading an upload file (CSV or XLSX) into a frame of strings with each row's file line number,
and a YAML document (a setup file, a mapping file) into plain data.

The only module of `imports` that touches the file system; it never interprets a value beyond
what the file format itself says (an Excel date cell becomes 'YYYY-MM-DD').
"""

from __future__ import annotations

import csv
import hashlib
import io
from pathlib import Path
from typing import Any

import fastexcel
import polars as pl
import yaml

from revrec.errors import InputError

BOM = b"\xef\xbb\xbf"
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
HEADING_LINE = 1
# Excel keeps 15 significant digits; a computed cell such as 12.300000000000001 means 12.3.
EXCEL_DIGITS = 15


def check_readable(path: Path) -> None:
    """A one-line InputError unless `path` is a file revrec can read (named as given)."""
    if path.is_dir():
        raise InputError(f"{path}: is a directory, expected a CSV or XLSX file")
    try:
        with path.open("rb"):
            pass
    except OSError as error:
        raise _unreadable(path, error) from None


def _unreadable(path: Path, error: OSError) -> InputError:
    if isinstance(error, FileNotFoundError):
        return InputError(f"{path}: no such file")
    if isinstance(error, IsADirectoryError):
        return InputError(f"{path}: is a directory, expected a CSV or XLSX file")
    return InputError(f"{path}: cannot read the file: {error.strerror or error}")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as error:
        raise _unreadable(path, error) from None
    return digest.hexdigest()


def read_upload(path: Path, sheet: str | None = None) -> pl.DataFrame:
    """Every column as String (null for an empty cell), in file order, plus Int64 `line`: the
    file line of the row (the heading is line 1). Rows whose cells are all empty are left out.

    CSV: UTF-8 with or without a BOM; comma or semicolon, whichever the heading line uses more.
    XLSX: the first sheet unless `sheet` is named. Anything unreadable is an InputError.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path.name}: no such file")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return _shape(_read_excel(path, sheet), path.name, quoted_lines=False)
    if sheet is not None:
        raise InputError(f"{path.name}: a sheet can only be named for an XLSX file")
    return _shape(_read_csv(path), path.name, quoted_lines=True)


def _read_csv(path: Path) -> pl.DataFrame:
    data = path.read_bytes()
    data = data.removeprefix(BOM)
    if not data.strip():
        raise InputError(f"{path.name}: the file is empty: expected a heading line")
    heading = data.split(b"\n", 1)[0]
    separator = ";" if heading.count(b";") > heading.count(b",") else ","
    try:
        cells = pl.read_csv(
            data,
            has_header=False,
            infer_schema=False,
            separator=separator,
            encoding="utf8",
        )
    except pl.exceptions.PolarsError as error:
        raise InputError(f"{path.name}: {_csv_problem(data, separator, str(error))}") from None
    if b'"' not in data:
        return cells  # no quoted cells: nothing spans lines, and every empty cell is null
    # An empty quoted cell ("") is as empty as one with nothing in it.
    return cells.with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in cells.columns
    )


def _csv_problem(data: bytes, separator: str, message: str) -> str:
    if "utf-8" in message.lower():
        return "not UTF-8 text: expected a CSV saved as UTF-8"
    if "more fields" in message:
        # Only on this error path does the file go through Python's csv, to name the line.
        text = data.decode("utf-8", errors="replace")
        rows = csv.reader(io.StringIO(text, newline=""), delimiter=separator)
        width = 0
        for number, row in enumerate(rows, start=HEADING_LINE):
            if number == HEADING_LINE:
                width = len(row)
            elif len(row) > width:
                return (
                    f"row {number} has {len(row)} cells: expected at most {width}, one per heading"
                )
        return "a row has more cells than there are headings"
    return f"not a readable CSV file ({message.splitlines()[0]})"


def _read_excel(path: Path, sheet: str | None) -> pl.DataFrame:
    try:
        cells = pl.read_excel(
            path,
            sheet_name=sheet,
            engine="calamine",
            has_header=False,
            read_options={"header_row": None, "dtypes": "string"},
            drop_empty_rows=False,
            raise_if_empty=False,
        )
    except ValueError as error:
        if sheet is not None and "sheet" in str(error):
            raise InputError(f"{path.name}: no sheet named {sheet!r}") from None
        raise InputError(f"{path.name}: not a readable XLSX file ({error})") from None
    except (fastexcel.FastExcelError, OSError) as error:
        first = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InputError(f"{path.name}: not a readable XLSX file ({first})") from None
    if cells.height == 0:
        raise InputError(f"{path.name}: the sheet is empty: expected a heading row")
    return cells.select(_excel_cell(c) for c in cells.columns)


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


def _shape(cells: pl.DataFrame, name: str, *, quoted_lines: bool) -> pl.DataFrame:
    """Headings from the first row; `line` counts the file lines a quoted CSV cell spans."""
    if cells.height == 0:
        raise InputError(f"{name}: the file is empty: expected a heading line")
    headings: list[str | None] = list(cells.row(0))
    keep: list[int] = []
    for index, heading in enumerate(headings):
        label = (heading or "").lstrip("\ufeff").strip()
        if label:
            keep.append(index)
        elif cells.get_column(cells.columns[index]).slice(1).null_count() < cells.height - 1:
            raise InputError(f"{name}: column {index + 1} has values but no heading")
    labels = [(headings[i] or "").lstrip("\ufeff").strip() for i in keep]
    if not labels:
        raise InputError(f"{name}: no headings in the first line")
    twice = sorted({h for h in labels if labels.count(h) > 1})
    if twice:
        raise InputError(f"{name}: heading given twice: {', '.join(twice)}")
    if "line" in (h.casefold() for h in labels):
        raise InputError(f"{name}: the heading 'line' is reserved for the file line number")
    columns = [cells.columns[i] for i in keep]
    spanning = [
        c
        for c in (cells.columns if quoted_lines else [])
        if cells.get_column(c).str.contains("\n", literal=True).any()
    ]
    newlines = pl.sum_horizontal(
        pl.lit(0), *(pl.col(c).str.count_matches("\n").fill_null(0) for c in spanning)
    )
    frame = cells.select(
        *(pl.col(c).alias(label) for c, label in zip(columns, labels, strict=True)),
        # Line of row k = 1 + k + the line breaks inside quoted cells of the rows before it.
        (
            pl.int_range(pl.len(), dtype=pl.Int64)
            + HEADING_LINE
            + newlines.cum_sum().shift(1, fill_value=0).cast(pl.Int64)
        ).alias("line"),
    )
    frame = frame.slice(1)
    empty = frame.select(pl.all_horizontal(pl.exclude("line").is_null())).to_series()
    return frame.filter(~empty) if empty.any() else frame


def read_yaml(path: Path, what: str) -> Any:
    """The YAML document of a file; anything unreadable is a one-line InputError naming the file,
    `what` it should have been, and for a syntax error the line and column."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except OSError as error:
        raise InputError(f"{path}: cannot read the {what}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: cannot read the {what}: it is not UTF-8 text") from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        context = f" ({error.context})" if error.context else ""
        raise InputError(
            f"{path}: the {what} is not valid YAML: {where}{error.problem}{context}"
        ) from None
    except yaml.YAMLError as error:
        first = str(error).strip().splitlines()[0]
        raise InputError(f"{path}: the {what} is not valid YAML: {first}") from None
