"""`revrec je list|show|approve|revoke|transfer|summarize|export`: Transfer JE (SPEC §6)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format, LimitOption, OffsetOption, Page

je_app = typer.Typer(no_args_is_help=True, help="Journal entries and Transfer JE.")

PeriodOption = Annotated[
    str | None, typer.Option("--period", help="YYYY-MM (default: the open period)")
]


@je_app.command("list")
def je_list(
    cli: typer.Context,
    period: PeriodOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """Each book's journals: state, debits and credits per currency, lines."""
    from revrec.services import columns, journals

    found = journals.list_journals(context(cli), period)
    page = Page.of(fmt, limit, offset)
    render.listing(
        page.of_list(found), columns.JOURNAL_COLUMNS, fmt, page=page, count=lambda: len(found)
    )


@je_app.command("show")
def je_show(
    cli: typer.Context,
    period: PeriodOption = None,
    balances: Annotated[
        bool, typer.Option("--trial-balance", help="the stored balances by account")
    ] = False,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """A journal's card and lines (or, once summarized, its trial balance)."""
    from revrec.services import journals

    ctx = context(cli)
    page = Page.of(fmt, limit, offset)
    if balances:
        balance = journals.trial_balance(ctx, period)
        render.listing_frames(
            [balance.slice(page.offset, page.limit)],
            fmt,
            page=page,
            count=lambda: balance.height,
            title="trial balance",
        )
        return
    with journals.lines_of(ctx, period, limit=page.limit, offset=page.offset) as found:
        card = found.card
        if fmt is Format.table:
            typer.echo(f"journal {card['book']} {card['period']}: {card['state']}")
        render.listing_frames(
            found.pages, fmt, page=page, count=found.count, head={"journal": card}
        )


@je_app.command("approve")
def je_approve(cli: typer.Context, period: PeriodOption = None) -> None:
    """Approve for Transfer: only when the reconciliation passes; freezes the journal."""
    from revrec.services import journals

    journal = journals.approve(context(cli), period)
    typer.echo(f"journal {journal.book} {journal.period} approved")


@je_app.command("revoke")
def je_revoke(cli: typer.Context, period: PeriodOption = None) -> None:
    """Undo the journal's last step (before the next one)."""
    from revrec.services import journals

    journal, state = journals.revoke(context(cli), period)
    typer.echo(f"journal {journal.book} {journal.period} is {state} again")


@je_app.command("transfer")
def je_transfer(
    cli: typer.Context,
    period: PeriodOption = None,
    output: Annotated[Path, typer.Option("--output", help="folder of the GL export files")] = Path(
        "gl-export"
    ),
) -> None:
    """Mark as transferred: writes the GL export (summary and detail CSV) and records them."""
    from revrec.services import journals

    files = journals.transfer(context(cli), period, folder=output)
    typer.echo(f"GL export written: {files['summary_file']} (sha256 {files['summary_sha256']})")
    typer.echo(f"detail written: {files['detail_file']} (sha256 {files['detail_sha256']})")


@je_app.command("summarize")
def je_summarize(
    cli: typer.Context, period: PeriodOption = None, fmt: FormatOption = Format.table
) -> None:
    """Store the balances by account: the subledger's trial balance."""
    from revrec.services import journals

    ctx = context(cli)
    journals.summarize(ctx, period)
    render.frame(journals.trial_balance(ctx, period), fmt, title="trial balance")


@je_app.command("export")
def je_export(
    cli: typer.Context,
    period: PeriodOption = None,
    output: Annotated[
        Path | None, typer.Option("--output", help="a .csv or .json file (default: stdout)")
    ] = None,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.csv,
) -> None:
    """The journal's lines, one row per line (money in major units), written as they are read."""
    from revrec.services import journals

    page = Page.of(Format.csv if output is not None else fmt, limit, offset)
    with journals.lines_of(context(cli), period, limit=page.limit, offset=page.offset) as found:
        if output is None:
            render.listing_frames(found.pages, fmt, page=page, count=found.count)
        else:
            render.frames_to_file(found.pages, output)


def register(app: typer.Typer) -> None:
    app.add_typer(je_app, name="je")
