"""Rendering results for people (rich tables, a progress bar) and scripts (CSV, JSON).

No business logic. Polars and rich are imported when something is rendered, never on import:
`revrec --help` must not load them.

Listings (`listing`, `listing_frames`) take their rows as an iterable read while it is written:
CSV and JSON go out chunk by chunk (memory stays flat however many rows there are), a table
shows one page (`PAGE` rows unless `--limit` says) and then a line saying how many rows there
are and how to get the rest.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from itertools import islice
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, TypeVar

import typer

if TYPE_CHECKING:
    import polars as pl

    from revrec.services.columns import Columns

T = TypeVar("T")
PAGE = 50  # the rows a table shows unless --limit says
CHUNK = 10_000  # the rows written (and turned into a frame) at a time in CSV

LimitOption = Annotated[
    int | None,
    typer.Option("--limit", min=1, help=f"at most N rows (a table shows {PAGE} unless given)"),
]
OffsetOption = Annotated[int, typer.Option("--offset", min=0, help="skip the first N rows")]


class Format(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


def table(frame: pl.DataFrame, title: str | None = None) -> None:
    from rich.console import Console
    from rich.table import Table

    out = Table(title=title, title_justify="left")
    for name, dtype in frame.schema.items():
        out.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in frame.iter_rows():
        out.add_row(*("" if v is None else str(v) for v in row))
    # A terminal wraps to its width; a pipe or file gets whole values, never "C-1…".
    Console(width=None if sys.stdout.isatty() else 240).print(out)


def frame(data: pl.DataFrame, fmt: Format, title: str | None = None) -> None:
    if fmt is Format.json:
        emit_json({"rows": data.to_dicts()})
    elif fmt is Format.csv:
        sys.stdout.write(data.write_csv())
    else:
        table(data, title)


def rows(
    data: Sequence[Mapping[str, Any]], columns: Columns, fmt: Format, title: str | None = None
) -> None:
    """A listing of rows with the columns it always shows, rows or none."""
    import polars as pl

    frame(pl.DataFrame(data, schema=columns), fmt, title)


def emit_json(document: Mapping[str, Any]) -> None:
    sys.stdout.write(json.dumps(document, default=str) + "\n")


@dataclass(frozen=True)
class Page:
    """The window of a listing to read: `limit` rows (None: every row) from `offset`."""

    limit: int | None
    offset: int = 0

    @classmethod
    def of(cls, fmt: Format, limit: int | None, offset: int = 0) -> Page:
        """What the options ask for: a table shows one page (`--limit`, else PAGE rows), CSV and
        JSON every row (or `--limit`)."""
        return cls(PAGE if limit is None and fmt is Format.table else limit, offset)

    def of_list(self, rows: Sequence[T]) -> list[T]:
        """This window of a listing held whole (the small fixed ones: jobs, periods...)."""
        end = None if self.limit is None else self.offset + self.limit
        return list(rows[self.offset : end])


def paging_line(page: Page, shown: int, count: Callable[[], int]) -> str | None:
    """What a table says under its rows when they are not every row, such as 'showing rows
    1-50 of 2,500: --offset 50 for the next page, --format csv for all' (an en dash between
    the first and the last). None when every row is shown. `count` (the rows of the whole
    listing) is called only when the page cannot tell."""
    if page.limit is None or shown < page.limit:  # the listing ended on this page
        if page.offset == 0:
            return None
        total = page.offset + shown if shown else count()
    else:
        total = count()
    if total == 0 or (page.offset == 0 and shown >= total):
        return None
    if shown == 0:
        past = f": --offset {page.offset} is past the last row" if page.offset >= total else ""
        return f"showing no rows of {total:,}{past}"
    first, last = page.offset + 1, page.offset + shown
    span = f"row {first:,}" if first == last else f"rows {first:,}\N{EN DASH}{last:,}"
    hints = [f"--offset {last} for the next page"] if last < total else []
    hints.append("--format csv for all")
    return f"showing {span} of {total:,}: " + ", ".join(hints)


def write_json(
    rows: Iterable[Mapping[str, Any]],
    *,
    head: Mapping[str, Any] | None = None,
    tail: Mapping[str, Any] | None = None,
    out: IO[str] | None = None,
) -> None:
    """One JSON document `{**head, "rows": [...], **tail}`, each row written as it is read (the
    same text `emit_json` writes for the document held whole)."""
    out = sys.stdout if out is None else out

    def field(key: str, value: Any) -> str:
        return f"{json.dumps(key)}: {json.dumps(value, default=str)}"

    out.write("{" + "".join(field(k, v) + ", " for k, v in (head or {}).items()) + '"rows": [')
    for number, row in enumerate(rows):
        out.write((", " if number else "") + json.dumps(row, default=str))
    out.write("]" + "".join(", " + field(k, v) for k, v in (tail or {}).items()) + "}\n")


def _chunks(rows: Iterable[T]) -> Iterator[list[T]]:
    found = iter(rows)
    while chunk := list(islice(found, CHUNK)):
        yield chunk


def write_csv(
    frames: Iterable[pl.DataFrame], *, empty: pl.DataFrame | None = None, out: IO[str]
) -> None:
    """Frames as one CSV text, the headings once (`empty`'s when there are no frames)."""
    headed = False
    for part in frames:
        out.write(part.write_csv(include_header=not headed))
        headed = True
    if not headed and empty is not None:
        out.write(empty.write_csv())


def listing(
    rows: Iterable[Mapping[str, Any]],
    columns: Columns,
    fmt: Format,
    *,
    page: Page,
    count: Callable[[], int],
    flat: Callable[[Mapping[str, Any]], Mapping[str, Any]] | None = None,
    head: Mapping[str, Any] | None = None,
    tail: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> None:
    """A listing of rows (already the `page`'s window): JSON as `{**head, "rows": [...],
    **tail}` with the rows as they are, CSV and a table with the `columns` of each row as
    `flat` makes it (values a cell can show). A table then says how to get the other rows."""
    import polars as pl

    if fmt is Format.json:
        write_json(rows, head=head, tail=tail)
        return
    shown = rows if flat is None else map(flat, rows)
    frames = (pl.DataFrame(part, schema=columns) for part in _chunks(shown))
    if fmt is Format.csv:
        write_csv(frames, empty=pl.DataFrame(schema=columns), out=sys.stdout)
        return
    _paged_table(list(frames), pl.DataFrame(schema=columns), page, count, title)


def listing_frames(
    frames: Iterable[pl.DataFrame],
    fmt: Format,
    *,
    page: Page,
    count: Callable[[], int],
    empty: pl.DataFrame | None = None,
    head: Mapping[str, Any] | None = None,
    tail: Mapping[str, Any] | None = None,
    title: str | None = None,
) -> None:
    """A listing read as frames (chunks of the `page`'s window), written as `listing` writes
    rows; `empty` gives the headings when there is no frame at all."""
    if fmt is Format.json:
        write_json((row for part in frames for row in part.iter_rows(named=True)), head=head,
                   tail=tail)  # fmt: skip
    elif fmt is Format.csv:
        write_csv(frames, empty=empty, out=sys.stdout)
    else:
        _paged_table(list(frames), empty, page, count, title)


def _paged_table(
    frames: list[pl.DataFrame],
    empty: pl.DataFrame | None,
    page: Page,
    count: Callable[[], int],
    title: str | None,
) -> None:
    import polars as pl

    shown = pl.concat(frames) if frames else pl.DataFrame() if empty is None else empty
    table(shown, title)
    line = paging_line(page, shown.height, count)
    if line is not None:
        sys.stdout.write(line + "\n")


def frames_to_file(
    frames: Iterable[pl.DataFrame], path: Path, *, empty: pl.DataFrame | None = None
) -> None:
    """Frames into a file as they are read: JSON (a `.json` path) as Polars writes a frame (an
    array of objects), else CSV."""
    with path.open("w", encoding="utf-8", newline="") as out:
        if path.suffix != ".json":
            write_csv(frames, empty=empty, out=out)
            return
        out.write("[")
        first = True
        for part in frames:
            if part.height:
                out.write(("" if first else ",") + part.write_json()[1:-1])
                first = False
        out.write("]")


@contextmanager
def steps(title: str, fmt: Format, total: int = 2) -> Iterator[Callable[[str], None]]:
    """A progress bar over a command's steps, on a terminal only (never in CSV/JSON output)."""
    if fmt is not Format.table or not sys.stderr.isatty():
        yield lambda _name: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(title, total=total)

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=f"{title}: {name}")

        yield advance
        progress.update(task, completed=total)
