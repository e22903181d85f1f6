"""`revrec lines list|show`: the subledger's lines and their posted revenue."""

from __future__ import annotations

from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format

lines_app = typer.Typer(
    no_args_is_help=True, help="The subledger's lines: allocation, billing, revenue."
)


@lines_app.command("list")
def lines_list(
    cli: typer.Context,
    contract: Annotated[str | None, typer.Option("--contract", help="one contract")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Each line's newest version, allocation, billed amount and revenue posted to date (the
    open period's posting included, and shown apart), in the book given by --book (default: the
    primary book). A blank allocation: the contract could not be allocated (see the jobs' notes)."""
    from revrec.money import major_units
    from revrec.services import columns, subledger

    ctx = context(cli)
    with ctx.engine.connect() as conn:
        found = subledger.lines(conn, book=ctx.book, contract=contract)
    render.frame(major_units(found, list(columns.LINE_MONEY_COLUMNS)), fmt)


@lines_app.command("show")
def lines_show(cli: typer.Context, line_id: str, fmt: FormatOption = Format.table) -> None:
    """A line's posted revenue per period, with the running total."""
    import polars as pl

    from revrec.money import major_units
    from revrec.services import columns, subledger

    ctx = context(cli)
    with ctx.engine.connect() as conn:
        found = subledger.lines(conn, book=ctx.book).filter(pl.col("line_id") == line_id)
        posted = subledger.postings(conn, line_id, book=ctx.book)
    currency = found["currency"][0]
    posted = major_units(
        posted.with_columns(pl.lit(currency).alias("currency")), ["amount", "to_date"]
    )
    if fmt is Format.json:
        line = major_units(found, list(columns.LINE_MONEY_COLUMNS))
        render.emit_json({**line.to_dicts()[0], "rows": posted.drop("currency").to_dicts()})
        return
    render.frame(posted.select(columns.POSTING_COLUMNS), fmt)


def register(app: typer.Typer) -> None:
    app.add_typer(lines_app, name="lines")
