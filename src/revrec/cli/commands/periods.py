"""`revrec period status|close`: the accounting periods of every book and the close (SPEC §7)."""

from __future__ import annotations

from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format, LimitOption, OffsetOption, Page
from revrec.errors import InputError

period_app = typer.Typer(no_args_is_help=True, help="Accounting periods.")


@period_app.command("status")
def period_status(
    cli: typer.Context,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """Every period of every book with its status (future, open, closed)."""
    from revrec.services import close, columns, periods

    ctx = context(cli)
    rows = periods.status(ctx)
    page = Page.of(fmt, limit, offset)
    render.listing(
        page.of_list(rows), columns.PERIOD_COLUMNS, fmt, page=page, count=lambda: len(rows)
    )
    if fmt is Format.table:  # the JSON and CSV shapes are SPEC §11.1's: the periods only
        found = close.checklist(ctx)
        shown = [i.as_json() for i in found.items]
        render.rows(shown, columns.CHECKLIST_COLUMNS, fmt, title=f"close checklist {found.period}")


@period_app.command("close")
def period_close(
    cli: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
    acknowledge_errors: Annotated[
        bool, typer.Option("--acknowledge-errors", help="close although error rows remain")
    ] = False,
) -> None:
    """Open New Period: closes the open period (checklist first) and opens the next."""
    from revrec.cli import options
    from revrec.services import close

    ctx = context(cli)
    if not yes:
        if not options.can_ask():
            raise InputError("closing a period needs confirmation: add --yes")
        period = close.period_to_close(ctx)  # the checklist runs once, inside the close
        typer.confirm(f"Close {period} and open the next period?", abort=True)
    done = close.close(ctx, acknowledge_errors=acknowledge_errors)
    typer.echo(f"period {done.closed} closed; {done.opened} is open ({', '.join(done.books)})")
    for job in done.jobs:
        typer.echo(f"{job.job}: processed {job.processed}, error {job.error}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(period_app, name="period")
