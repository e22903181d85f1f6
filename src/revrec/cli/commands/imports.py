"""`revrec import transactions|events`: stage a file, then run the active jobs (SPEC §4, §11.1)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format
from revrec.errors import InputError
from revrec.vocab import TRANSACTION_TYPES
from revrec.words import counted

if TYPE_CHECKING:
    from revrec.services.imports import ImportSummary

import_app = typer.Typer(no_args_is_help=True, help="Import transactions or events.")
SHOWN_ERRORS = 50  # rows in error written to stderr; `revrec stage list` has them all


@import_app.command("transactions")
def import_transactions(
    cli: typer.Context,
    file: Path,
    upload_type: Annotated[str, typer.Option("--type", help="sales_order, billing or cost")],
    mapping: Annotated[str, typer.Option("--mapping", help="attribute mapping")] = "revrec",
    fmt: FormatOption = Format.table,
) -> None:
    """Import a sales-order, billing or cost file (CSV or XLSX) into the stage area."""
    if upload_type not in TRANSACTION_TYPES:
        *first, last = TRANSACTION_TYPES
        raise InputError(f"--type {upload_type!r}: expected {', '.join(first)} or {last}")
    _import(cli, file, upload_type, fmt, mapping=mapping)


@import_app.command("events")
def import_events(
    cli: typer.Context,
    file: Path,
    event: Annotated[str, typer.Option("--event", help="the event defined on POB templates")],
    name: Annotated[str | None, typer.Option("--name", help="default: the file name")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Import an event file for one event into the stage area."""
    _import(cli, file, "event", fmt, event=event, name=name)


def _import(
    cli: typer.Context,
    path: Path,
    upload_type: str,
    fmt: Format,
    *,
    mapping: str = "revrec",
    event: str | None = None,
    name: str | None = None,
) -> None:
    from revrec.services import workflow

    workflow.check_file(path)  # before the database: the file is named first
    ctx = context(cli)
    with render.steps(f"importing {path.name}", fmt) as step:
        summary = workflow.import_and_process(
            ctx, path, upload_type, mapping=mapping, event=event, name=name, step=step
        )
    _summary(summary, fmt)


def _summary(summary: ImportSummary, fmt: Format) -> None:
    # JSON and CSV: stdout is the summary of SPEC §11.1 alone (scripts parse it); the notes
    # and the rows in error go to stderr (`revrec stage list --status error` has them too).
    if fmt is Format.json:
        render.emit_json(summary.counts())
    elif fmt is Format.csv:
        import polars as pl

        render.frame(pl.DataFrame([summary.counts()]), fmt)
    else:
        typer.echo(
            f"{summary.file}: {counted(summary.rows_read, 'row')} read, "
            f"{summary.processed} processed, {summary.future} future, "
            f"{summary.pending} pending, {summary.error} error, {summary.duplicate} duplicate"
        )
    for note in summary.notes:
        typer.echo(f"note: {note}", err=fmt is not Format.table)
    for row in summary.errors[:SHOWN_ERRORS]:
        for message in row["messages"]:  # type: ignore[attr-defined]
            typer.echo(
                f"{summary.file}:{row['line']}: {message['column']} "
                f"{message['value']!r}: {message['message']}",
                err=True,
            )
    if len(summary.errors) > SHOWN_ERRORS:
        typer.echo(
            f"... and {len(summary.errors) - SHOWN_ERRORS} more rows in error: "
            "see `revrec stage list --status error`",
            err=True,
        )


def register(app: typer.Typer) -> None:
    app.add_typer(import_app, name="import")
