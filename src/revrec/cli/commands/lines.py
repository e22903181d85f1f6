"""`revrec lines list|show`: the subledger's lines and their posted revenue."""

from __future__ import annotations

from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format, LimitOption, OffsetOption, Page

lines_app = typer.Typer(
    no_args_is_help=True, help="The subledger's lines: allocation, billing, revenue."
)


@lines_app.command("list")
def lines_list(
    cli: typer.Context,
    contract: Annotated[str | None, typer.Option("--contract", help="one contract")] = None,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """Each line's newest version, allocation, billed amount and revenue posted to date (the
    open period's posting included, and shown apart), in the book given by --book (default: the
    primary book), by contract and line. A blank allocation: the contract could not be
    allocated (see the jobs' notes)."""
    from revrec.money import major_units
    from revrec.services import columns, subledger

    page = Page.of(fmt, limit, offset)
    money = list(columns.LINE_MONEY_COLUMNS)
    with subledger.lines_of(
        context(cli), contract=contract, limit=page.limit, offset=page.offset
    ) as found:
        render.listing_frames(
            (major_units(part, money) for part in found.pages), fmt, page=page, count=found.count
        )


@lines_app.command("show")
def lines_show(
    cli: typer.Context,
    line_id: str,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """A line's posted revenue per period, with the running total (to date: every period
    before the ones shown counted)."""
    from revrec.money import major_units
    from revrec.services import columns, subledger

    found = subledger.line_detail(context(cli), line_id)
    posted = major_units(found.postings, ["amount", "to_date"])
    page = Page.of(fmt, limit, offset)
    shown = posted.slice(page.offset, page.limit)
    if fmt is Format.json:
        line = major_units(found.line, list(columns.LINE_MONEY_COLUMNS))
        head = line.to_dicts()[0]
        render.write_json(shown.drop("currency").iter_rows(named=True), head=head)
        return
    render.listing_frames(
        [shown.select(columns.POSTING_COLUMNS)],
        fmt,
        page=page,
        count=lambda: posted.height,
        empty=posted.select(columns.POSTING_COLUMNS).clear(),
    )


def register(app: typer.Typer) -> None:
    app.add_typer(lines_app, name="lines")
