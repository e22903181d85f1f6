"""`revrec period status`: the accounting periods of every book."""

from __future__ import annotations

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format

period_app = typer.Typer(no_args_is_help=True, help="Accounting periods.")


@period_app.command("status")
def period_status(cli: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Every period of every book with its status (future, open, closed)."""
    from revrec.services import columns, periods

    render.rows(periods.status(context(cli)), columns.PERIOD_COLUMNS, fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(period_app, name="period")
