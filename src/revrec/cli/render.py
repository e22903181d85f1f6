"""Rendering results for people (rich tables, a progress bar) and scripts (CSV, JSON).

No business logic. Polars and rich are imported when something is rendered, never on import:
`revrec --help` must not load them.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl

    from revrec.services.columns import Columns


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
