"""Reading an upload file (CSV or XLSX) into a frame of strings with each row's file line number,
and a YAML document (a setup file, a mapping file) into plain data.

The only module of `imports` that touches the file system; it never interprets a value beyond
what the file format itself says (an Excel date cell becomes 'YYYY-MM-DD').

A row the format itself makes unreadable (a CSV row with more cells than headings, a bad quote, a
byte that is not UTF-8; an XLSX cell with a formula but no saved value, or an Excel error) is a row
error of its own line (SPEC §4.2: good rows are never lost because of bad ones). Only a file whose
headings cannot be read, or of which no row can be read, is rejected as a whole, naming the line.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
import yaml

from revrec.errors import InputError
from revrec.imports.checks import ERROR_SCHEMA
from revrec.imports.mappings import Mapping
from revrec.imports.reading import SHOWN, TITLE_ROWS, Bad, Read, check_headings
from revrec.imports.xlsx import read_excel

BOM = b"\xef\xbb\xbf"
EXCEL_SUFFIXES = (".xlsx", ".xlsm")
HEADING_LINE = 1
SNIFF = 8192  # bytes of the heading line looked at for a NUL byte (binary or UTF-16)
PEEK = 1 << 16  # bytes of a CSV read for its first rows, before the whole file is


@dataclass(frozen=True)
class Upload:
    """A file read for staging.

    rows: every heading as a String column (null for an empty cell) plus Int64 `line`.
    errors: one row error (ERROR_SCHEMA; column '') per row that could not be read.
    unreadable: `line` and the heading columns of those rows: the cells that could be read
    reliably (those of a row with a bad byte or a formula without a value), else null.
    where: the file, and for an XLSX the sheet read ("orders.xlsx, sheet 'Orders'").
    """

    rows: pl.DataFrame
    errors: pl.DataFrame
    unreadable: pl.DataFrame
    where: str

    def with_unreadable(
        self,
        rows: pl.DataFrame,
        errors: pl.DataFrame,
        renames: dict[str, str] | None = None,
    ) -> tuple[pl.DataFrame, pl.DataFrame]:
        """`rows` (this upload's rows, headings renamed by `renames`) with a row for each
        unreadable one, in line order, and `errors` (the validators') with their row errors."""
        if self.errors.is_empty():
            return rows, errors
        renames = renames or {}
        bad = self.unreadable.rename(
            {k: v for k, v in renames.items() if k in self.unreadable.columns and k != v}
        )
        bad = bad.select(c for c in bad.columns if c in rows.columns)
        every = pl.concat([rows, bad], how="diagonal_relaxed").sort("line", maintain_order=True)
        found = pl.concat([errors.cast(ERROR_SCHEMA), self.errors]).sort(  # type: ignore[arg-type]
            "line", maintain_order=True
        )
        return every, found


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

    CSV: UTF-8 with or without a BOM; comma or semicolon, whichever the heading line uses more;
    LF, CRLF or (old Mac) CR line ends, whichever ends the heading line.
    XLSX: the first sheet unless `sheet` is named. Anything unreadable, a row included, is an
    InputError (`read_upload_rows` keeps the readable rows and names the others).
    """
    upload = read_upload_rows(path, sheet=sheet)
    if not upload.errors.is_empty():
        line, _, _, message = upload.errors.row(0)
        raise InputError(f"{upload.where}: line {line}: {message}")
    return upload.rows


def read_upload_rows(
    path: Path, mapping: Mapping | None = None, *, sheet: str | None = None
) -> Upload:
    """The rows of an upload file as `read_upload` reads them, and a row error for each row that
    cannot be read (its line and the problem); the other rows go on.

    With a `mapping`, headings that do not match it reject the file with the mapping's message,
    naming the file (and sheet); when a row below the first matches, the message says so (title
    rows above the headings). A file whose headings cannot be read, or of which no row can be
    read, is an InputError naming the line.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path.name}: no such file")
    if path.suffix.lower() in EXCEL_SUFFIXES:
        read, where = read_excel(path, sheet, mapping)
        unit = "row"
    else:
        if sheet is not None:
            raise InputError(f"{path.name}: a sheet can only be named for an XLSX file")
        where, unit = path.name, "line"
        read = _read_csv(path, mapping)
    rows, unreadable = _shape(read, where, unit)
    errors = pl.DataFrame(
        {
            "line": [b.line for b in read.bad],
            "column": [""] * len(read.bad),
            "value": [b.value for b in read.bad],
            "message": [b.message for b in read.bad],
        },
        schema=ERROR_SCHEMA,
    )
    if rows.is_empty() and read.bad:
        first = read.bad[0]
        more = f" (and {len(read.bad) - 1} more)" if len(read.bad) > 1 else ""
        raise InputError(
            f"{where}: no row could be read: {unit} {first.line}: {first.message}{more}"
        )
    return Upload(rows, errors, unreadable, where)


# CSV


def _read_csv(path: Path, mapping: Mapping | None) -> Read:
    data = path.read_bytes()
    data = _lf_line_ends(data.removeprefix(BOM))
    if not data.strip():
        raise InputError(f"{path.name}: the file is empty: expected a heading line")
    _check_text(path.name, data)
    heading = data.split(b"\n", 1)[0]
    try:
        heading.decode("utf-8")
    except UnicodeDecodeError as error:
        problem = _not_utf8(heading[error.start], error.start, "the line")
        raise InputError(f"{path.name}: stopped at line 1 (the headings): {problem}") from None
    separator = ";" if heading.count(b";") > heading.count(b",") else ","
    if mapping is not None:
        check_headings(_first_records(data, separator), mapping, path.name)
    try:
        cells = pl.read_csv(
            data,
            has_header=False,
            infer_schema=False,
            separator=separator,
            encoding="utf8",
        )
    except pl.exceptions.PolarsError:
        # Polars reads a clean file fast and refuses a file with one bad row; the file is then
        # read row by row, and each row that cannot be read becomes a row error of its own.
        return _read_csv_rows(path.name, data, separator)
    if b'"' not in data:
        return Read(_with_lines(cells, []))  # nothing spans lines, every empty cell is null
    # An empty quoted cell ("") is as empty as one with nothing in it.
    cells = cells.with_columns(
        pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in cells.columns
    )
    spanning = [
        c for c in cells.columns if cells.get_column(c).str.contains("\n", literal=True).any()
    ]
    return Read(_with_lines(cells, spanning))


def _lf_line_ends(data: bytes) -> bytes:
    """A CSV whose heading line ends with a CR alone (old Mac) with each of its line ends (CR, or
    CR LF) as one LF, as universal newlines read it; any other CSV as it is.

    Readers below split lines at LF only: a CR-only file would be one heading row of every cell.
    The heading line decides, as it decides the separator, so a CR alone inside a cell of an LF
    or CRLF file stays what it was (a character of a quoted cell, or a row error unquoted). A
    line break inside a quoted cell of a CR-only file becomes LF too, as in the file's LF twin.
    """
    first_lf = data.find(b"\n")
    first_cr = data.find(b"\r", 0, first_lf if first_lf >= 0 else len(data))
    if first_cr < 0 or data.startswith(b"\r\n", first_cr):
        return data
    return data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")


def _with_lines(cells: pl.DataFrame, spanning: Sequence[str]) -> pl.DataFrame:
    """`line` of row k = 1 + k + the line breaks inside quoted cells of the rows before it."""
    newlines = pl.sum_horizontal(
        pl.lit(0), *(pl.col(c).str.count_matches("\n").fill_null(0) for c in spanning)
    )
    return cells.with_columns(
        (
            pl.int_range(pl.len(), dtype=pl.Int64)
            + HEADING_LINE
            + newlines.cum_sum().shift(1, fill_value=0).cast(pl.Int64)
        ).alias("line")
    )


def _check_text(name: str, data: bytes) -> None:
    """A file that is not text at all (an XLSX renamed, UTF-16, binary) is rejected whole."""
    if data.startswith(b"PK\x03\x04"):
        raise InputError(
            f"{name}: stopped at line 1: this is an XLSX (zip) file, not a CSV: name it .xlsx"
        )
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise InputError(f"{name}: stopped at line 1: UTF-16 text: save the file as CSV UTF-8")
    heading = data[:SNIFF].split(b"\n", 1)[0]
    nul = heading.find(b"\x00")
    if nul >= 0:
        raise InputError(
            f"{name}: stopped at line 1: a NUL byte at offset {nul} of the line: not a text "
            "file (UTF-16?): expected a CSV saved as UTF-8"
        )


def _first_records(data: bytes, separator: str) -> list[tuple[int, list[str | None]]]:
    """(line, cells) of the first rows of a CSV, for finding its headings (no errors raised)."""
    head = data[:PEEK]
    if len(data) > PEEK and b"\n" in head:
        head = head[: head.rfind(b"\n") + 1]
    lines = head.decode("utf-8", errors="replace").split("\n")
    reader = csv.reader((s + "\n" for s in lines), delimiter=separator)
    found: list[tuple[int, list[str | None]]] = []
    while len(found) <= TITLE_ROWS:
        begin = reader.line_num
        try:
            record = next(reader)
        except (StopIteration, csv.Error):
            break
        cells: list[str | None] = list(record)
        found.append((begin + 1, cells))
    return found


def _read_csv_rows(name: str, data: bytes, separator: str) -> Read:
    """The rows of a CSV read one by one (Python's csv over lines split at '\\n'), a row that
    cannot be read becoming a `Bad`: more cells than headings, a bad or unterminated quote, a
    byte that is not UTF-8.

    Linear: a row whose quote error is found on a later line than its own (an unterminated
    quote) is its line's error, and the reader starts again on the next line; the lines read
    twice so are those up to the next quote, which the quote that was never closed swallowed.
    """
    enabled = gc.isenabled()
    gc.disable()  # a million small lists, none of them cyclic: the collector would triple the time
    try:
        return _csv_rows(name, data, separator)
    finally:
        if enabled:
            gc.enable()


def _csv_rows(name: str, data: bytes, separator: str) -> Read:
    lines, bad_bytes = _decoded_lines(data)
    total = len(lines)
    rows: list[Sequence[str | None]] = []
    row_lines: list[int] = []
    bad: list[Bad] = []
    width = 0
    start = 0  # index of the line the reader starts from
    rescanned = 0
    while start < total:
        reader = csv.reader(
            (s + "\n" for s in itertools.islice(lines, start, None)),
            delimiter=separator,
            strict=True,
        )
        restart = None
        while True:
            begin = reader.line_num
            try:
                record = next(reader)
            except StopIteration:
                break
            except csv.Error as error:
                first, last = start + begin + 1, start + reader.line_num
                problem = _quote_problem(str(error), first, last)
                if first == HEADING_LINE:
                    rest = ": the rest of the file could not be read" if last > first else ""
                    raise InputError(
                        f"{name}: stopped at line 1 (the headings): {problem}{rest}"
                    ) from None
                # A quote error found on a later line than the row's own: the row's line is the
                # error, and the lines after it are read as rows of their own.
                if last > first:
                    problem += ": the row was not read; the lines after it were read on their own"
                bad.append(Bad(first, _text(lines, first, first), problem))
                if last > first:
                    restart = first  # index of the line after `first`
                    rescanned += last - first
                    break
                continue
            first, last = start + begin + 1, start + reader.line_num
            if first == HEADING_LINE:
                if not record:
                    raise InputError(f"{name}: no headings in the first line")
                width = len(record)
            encoding = _encoding_problem(bad_bytes, first, last)
            if encoding is not None:
                if first == HEADING_LINE:
                    raise InputError(f"{name}: stopped at line 1 (the headings): {encoding}")
                bad.append(Bad(first, _text(lines, first, last), encoding, _fit(record, width)))
                continue
            if not record:
                continue  # a blank line
            if len(record) > width and any(c.strip() for c in record[width:]):
                bad.append(
                    Bad(
                        first,
                        _text(lines, first, last),
                        f"expected {width} columns, found {len(record)} (a {separator!r} inside "
                        "a value needs quotes around the value)",
                    )
                )
                continue
            rows.append(record if len(record) == width else _fit(record, width))
            row_lines.append(first)
        if restart is None:
            break
        if rescanned > 2 * total + 1000:  # a guard: the restarts read far less than this
            raise InputError(
                f"{name}: stopped at line {restart}: unterminated quote starting on line "
                f"{restart}: the rest of the file could not be read"
            )
        start = restart
    columns = {
        f"column_{i}": pl.Series(values, dtype=pl.String)
        for i, values in enumerate(zip(*rows, strict=True))
    }
    cells = pl.DataFrame(columns).with_columns(
        pl.Series("line", row_lines, dtype=pl.Int64),
        *(pl.when(pl.col(c) != "").then(pl.col(c)).alias(c) for c in columns),
    )
    return Read(cells, sorted(bad, key=lambda b: b.line))


def _decoded_lines(data: bytes) -> tuple[list[str], dict[int, tuple[int, int]]]:
    """The file's lines (split at '\\n', without it) and, per line that is not UTF-8, the offset
    and value of its first bad byte (the line decoded with U+FFFD in its place)."""
    try:
        lines = data.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        pass
    else:
        if lines and not lines[-1]:
            lines.pop()
        return lines, {}
    pieces = data.split(b"\n")
    if pieces and not pieces[-1]:
        pieces.pop()
    lines = []
    bad: dict[int, tuple[int, int]] = {}
    for number, piece in enumerate(pieces, start=1):
        try:
            lines.append(piece.decode("utf-8"))
        except UnicodeDecodeError as error:
            bad[number] = (error.start, piece[error.start])
            lines.append(piece.decode("utf-8", errors="replace"))
    return lines, bad


def _encoding_problem(bad_bytes: dict[int, tuple[int, int]], first: int, last: int) -> str | None:
    if not bad_bytes:
        return None
    for number in range(first, last + 1):
        if number in bad_bytes:
            offset, byte = bad_bytes[number]
            return _not_utf8(byte, offset, "the line" if number == first else f"line {number}")
    return None


def _not_utf8(byte: int, offset: int, where: str) -> str:
    return (
        f"not UTF-8: byte 0x{byte:02x} at offset {offset} of {where} "
        "(latin-1? save the file as CSV UTF-8)"
    )


def _quote_problem(error: str, first: int, last: int) -> str:
    """What Python's csv found wrong with the row starting on line `first` (found on `last`)."""
    if "unexpected end of data" in error:
        return f"unterminated quote starting on line {first}"
    if "field larger than field limit" in error:
        return (
            f"a cell starting on line {first} is longer than {csv.field_size_limit()} "
            "characters (an unterminated quote?)"
        )
    if "expected after" in error:
        if last > first:
            return (
                f"unterminated quote starting on line {first} (the next quote, on line {last}, "
                "is followed by text)"
            )
        return (
            f"text after the closing quote of a cell on line {last}: a quote inside a quoted "
            'cell is written twice ("")'
        )
    if "new-line character" in error:
        return f"a carriage return inside a cell without quotes on line {last}"
    return f"line {last}: {error}"


def _text(lines: Sequence[str], first: int, last: int) -> str:
    """Lines first..last (1-based) of the file, cut to SHOWN characters, as a row error's value."""
    text = "\n".join(lines[first - 1 : last]).rstrip("\r")
    return text if len(text) <= SHOWN else text[: SHOWN - 3] + "..."


def _fit(record: Sequence[str], width: int) -> list[str | None]:
    """A record as `width` cells: missing trailing cells are empty, empty extra ones dropped."""
    cells: list[str | None] = list(record[:width])
    cells.extend([None] * (width - len(cells)))
    return cells


def _shape(read: Read, where: str, unit: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows, unreadable): headings from the first row, `line` kept, all-empty rows left out."""
    cells = read.cells
    if cells.height == 0:
        what = "sheet" if unit == "row" else "file"
        raise InputError(f"{where}: the {what} is empty: expected a heading {unit}")
    names = [c for c in cells.columns if c != "line"]
    headings: list[str | None] = list(cells.select(names).row(0))
    keep: list[int] = []
    for index, heading in enumerate(headings):
        label = (heading or "").lstrip("\ufeff").strip()
        if label:
            keep.append(index)
        elif cells.get_column(names[index]).slice(1).null_count() < cells.height - 1:
            raise InputError(f"{where}: column {index + 1} has values but no heading")
    labels = [(headings[i] or "").lstrip("\ufeff").strip() for i in keep]
    if not labels:
        first = "the first row" if unit == "row" else "the first line"
        raise InputError(f"{where}: no headings in {first}")
    twice = sorted({h for h in labels if labels.count(h) > 1})
    if twice:
        raise InputError(f"{where}: heading given twice: {', '.join(twice)}")
    if "line" in (h.casefold() for h in labels):
        raise InputError(f"{where}: the heading 'line' is reserved for the file line number")
    frame = cells.slice(1).select(
        *(pl.col(names[i]).alias(label) for i, label in zip(keep, labels, strict=True)),
        pl.col("line").cast(pl.Int64),
    )
    empty = frame.select(pl.all_horizontal(pl.exclude("line").is_null())).to_series()
    rows = frame.filter(~empty) if empty.any() else frame
    schema = dict.fromkeys(labels, pl.String) | {"line": pl.Int64}
    unreadable = pl.DataFrame(
        [
            [*(b.cells[i] if b.cells is not None and i < len(b.cells) else None for i in keep),
             b.line]
            for b in read.bad
        ],
        schema=schema,
        orient="row",
    )  # fmt: skip
    return rows, unreadable


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
