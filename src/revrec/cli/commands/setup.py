"""`revrec init` and `revrec setup load`: creating the database and loading setup data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format

setup_app = typer.Typer(no_args_is_help=True, help="Load setup data (books, templates, SSP...).")


def init(
    cli: typer.Context,
    first_period: Annotated[str | None, typer.Option("--first-period", help="YYYY-MM")] = None,
    currency: Annotated[str, typer.Option("--currency")] = "USD",
    demo: Annotated[bool, typer.Option("--demo", help="also load the demo data")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Create (or migrate) the database and the primary book with its first open period."""
    from revrec.services import workflow

    result = workflow.init(
        context(cli, checked=False), first_period=first_period, currency=currency, demo=demo
    )
    if fmt is Format.json:
        render.emit_json(result.as_json())
    else:
        verb = "created" if result.created else "already set up"
        typer.echo(
            f"{result.database}: book {result.book} {verb}, open period {result.open_period}"
        )


@setup_app.command("load")
def setup_load(cli: typer.Context, file: Path, fmt: FormatOption = Format.table) -> None:
    """Apply a YAML setup file (SPEC §2.1); loading the same file twice changes nothing."""
    from revrec.services import workflow

    document = workflow.read_setup(file)  # before the database: the file is named first
    counts = workflow.load_setup(context(cli), document)
    if fmt is Format.json:
        render.emit_json({"file": str(file), "loaded": counts})
    else:
        typer.echo(f"{file}: loaded " + ", ".join(f"{v} {k}" for k, v in counts.items()))


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.add_typer(setup_app, name="setup")
