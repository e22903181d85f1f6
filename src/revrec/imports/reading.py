"""What reading an upload gives before its rows are shaped: the cells read, the rows that could
not be read, and the check that the headings are the mapping's (shared by the CSV and XLSX
readers)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from revrec.errors import InputError
from revrec.imports.mappings import Mapping, check_headers

TITLE_ROWS = 20  # rows below a heading row that does not match the mapping, looked at for headings
SHOWN = 120  # characters of a row's text kept as the value of its row error


@dataclass
class Bad:
    """A row that could not be read: its line, its text, the problem, the cells (if reliable)."""

    line: int
    value: str
    message: str
    cells: list[str | None] | None = None


@dataclass
class Read:
    """Cells as read (column_0.., `line`; the heading row first) and the unreadable rows."""

    cells: pl.DataFrame
    bad: list[Bad] = field(default_factory=list)


def labels(cells: Sequence[str | None]) -> list[str]:
    return [label for c in cells if (label := (c or "").lstrip("\ufeff").strip())]


def check_headings(
    rows: Sequence[tuple[int, Sequence[str | None]]],
    mapping: Mapping,
    name: str,
    sheet: str | None = None,
    others: Sequence[str] = (),
) -> None:
    """An InputError naming the file (and sheet) unless the first of `rows` holds the mapping's
    headings; when a later row holds them (title rows above the headings), the message says so."""
    if not rows:
        return
    unit, of_sheet = ("row", f" of sheet {sheet!r}") if sheet is not None else ("line", "")
    line, cells = rows[0]
    try:
        check_headers(labels(cells), mapping)
    except InputError as error:
        for later, other in rows[1 : TITLE_ROWS + 1]:
            try:
                check_headers(labels(other), mapping)
            except InputError:
                continue
            shown = labels(cells)
            has = ", ".join(repr(c) for c in shown[:4]) + (", ..." if len(shown) > 4 else "")
            raise InputError(
                f"{name}: the headings were not found on {unit} {line}{of_sheet} (it has "
                f"{has or 'nothing'}); they were found on {unit} {later}: delete the {unit}s "
                "above the headings"
            ) from None
        where = f"{name}, sheet {sheet!r}" if sheet is not None else name
        if others:
            where += f" (the workbook's other sheets: {', '.join(repr(o) for o in others)})"
        raise InputError(f"{where}: {error}") from None
