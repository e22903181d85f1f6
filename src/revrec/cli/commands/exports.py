"""`revrec export schedules`: the legacy Revenue Recognition Schedules export (SPEC §10)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from revrec.cli.options import context

export_app = typer.Typer(no_args_is_help=True, help="Exports for other systems.")


@export_app.command("schedules")
def export_schedules(
    cli: typer.Context,
    status: Annotated[
        str, typer.Option("--status", help="all, charge (INV lines) or credit (CM lines)")
    ] = "all",
    first: Annotated[
        str | None, typer.Option("--from", help="first invoice date, YYYY-MM-DD (inclusive)")
    ] = None,
    last: Annotated[
        str | None, typer.Option("--to", help="last invoice date, YYYY-MM-DD (inclusive)")
    ] = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the balances' date (default: today, UTC)")
    ] = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="a .csv or .xlsx file (default: CSV on stdout)")
    ] = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="write the export's schema file instead")
    ] = False,
) -> None:
    """One row per billing line's revenue schedule: arrears, 12 months, future revenue."""
    from revrec.services import legacy_export

    if schema:
        legacy_export.schema(output=output, out=sys.stdout)
        if output is not None:
            typer.echo(f"schema written: {output}")
        return
    wanted = legacy_export.request(status, first, last, as_of)
    legacy_export.output_format(output)  # before the database: the option is named first
    ctx = context(cli)
    with _progress(shown=output is not None or not sys.stdout.isatty()) as progress:
        rows = legacy_export.export(ctx, wanted, output=output, out=sys.stdout, progress=progress)
    if output is not None:
        typer.echo(f"{rows:,} schedules written: {output}")


@contextmanager
def _progress(*, shown: bool) -> Iterator[Callable[[int, int], None]]:
    """A progress bar over the rows on stderr, on a terminal only (and not over CSV that goes
    to the same terminal)."""
    if not shown or not sys.stderr.isatty():
        yield lambda _done, _total: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("exporting schedules", total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def register(app: typer.Typer) -> None:
    app.add_typer(export_app, name="export")
