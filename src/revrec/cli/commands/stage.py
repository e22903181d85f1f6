"""`revrec stage list|files|delete`: the stage area's rows and files (SPEC §4.4)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

import typer

from revrec.cli import options, render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format, LimitOption, OffsetOption, Page
from revrec.errors import InputError
from revrec.words import counted

stage_app = typer.Typer(no_args_is_help=True, help="The stage area: rows waiting or in error.")
TabOption = Annotated[str | None, typer.Option("--tab", help="contracts, documents, cost, events")]


@stage_app.command("list")
def stage_list(
    cli: typer.Context,
    tab: TabOption = None,
    status: Annotated[
        str | None,
        typer.Option(
            "--status",
            help="pending, future, error, processed, deleted, or duplicate (the processed rows "
            "skipped as duplicates, which processed leaves out)",
        ),
    ] = None,
    file: Annotated[str | None, typer.Option("--file", help="the file's name")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="accounting date on or after YYYY-MM-DD")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="accounting date on or before YYYY-MM-DD")
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="in the key or any value, ignoring case")
    ] = None,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """List stage rows with their status and messages, oldest first."""
    from revrec.services import columns, stage

    found = stage.row_filter(
        tab=tab,
        status=status,
        file=file,
        text=text,
        date_from=_day(date_from, "--from"),
        date_to=_day(date_to, "--to"),
    )
    page = Page.of(fmt, limit, offset)
    with stage.rows_of(context(cli), found, limit=page.limit, offset=page.offset) as listed:
        render.listing(
            listed.rows,
            columns.STAGE_ROW_COLUMNS,
            fmt,
            page=page,
            count=listed.count,
            flat=_flat,
            tail={"notes": listed.notes},
        )
    if fmt is Format.table:
        for note in listed.notes:
            typer.echo(f"note: {note}")


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stage row for a table or CSV: its messages as one text."""
    return {
        **{k: v for k, v in row.items() if k != "messages"},
        "messages": "; ".join(
            f"{m['column']} {m['value']!r}: {m['message']}" for m in row["messages"]
        ),
    }


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


@stage_app.command("files")
def stage_files(
    cli: typer.Context,
    tab: TabOption = None,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """The uploaded files as cards, newest first: type, mapping, who and when, rows per
    status."""
    from revrec.services import columns, stage

    cards = stage.file_cards(context(cli), tab=tab)
    page = Page.of(fmt, limit, offset)
    render.listing(
        page.of_list(cards), columns.FILE_CARD_COLUMNS, fmt, page=page, count=lambda: len(cards)
    )


@stage_app.command("delete")
def stage_delete(
    cli: typer.Context,
    row_ids: list[int],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Delete stage rows (kept as deleted, audit-logged); asks for confirmation."""
    from revrec.services import stage

    ctx = context(cli)
    count = stage.check_deletable(ctx, row_ids)
    if not yes:
        if not options.can_ask():
            raise InputError("deleting needs confirmation: add --yes")
        typer.confirm(f"Delete {counted(count, 'stage row')}?", abort=True)
    count = stage.delete_rows(ctx, row_ids)
    typer.echo(f"deleted {counted(count, 'stage row')}")


def register(app: typer.Typer) -> None:
    app.add_typer(stage_app, name="stage")
