"""`revrec audit list|verify`: the audit log and its hash chain (SPEC §2, §11.1)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import PAGE, Format, OffsetOption, Page
from revrec.errors import InputError

audit_app = typer.Typer(no_args_is_help=True, help="The audit log: who changed what, and when.")
SHORT_HASH = 12  # the table shows a hash's first characters; CSV and JSON show it whole


@audit_app.command("list")
def audit_list(
    cli: typer.Context,
    kind: Annotated[
        str | None,
        typer.Option("--kind", help="import, stage, setup, mapping, job, period... or an action"),
    ] = None,
    user: Annotated[str | None, typer.Option("--user", help="who acted")] = None,
    date_from: Annotated[
        str | None, typer.Option("--from", help="on or after YYYY-MM-DD (UTC)")
    ] = None,
    date_to: Annotated[
        str | None, typer.Option("--to", help="on or before YYYY-MM-DD (UTC)")
    ] = None,
    period: Annotated[
        str | None, typer.Option("--period", help="the period an entry concerns, YYYY-MM")
    ] = None,
    limit: Annotated[
        int | None,
        typer.Option(
            "--limit", min=0, help=f"at most N entries (a table shows {PAGE} unless given)"
        ),
    ] = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """List audit entries, oldest first: who, when, what, before and after."""
    from revrec.services import audit

    page = Page.of(fmt, limit, offset)
    with audit.entries_of(
        context(cli),
        kind=kind,
        user=user,
        since=_day(date_from, "--from"),
        until=_day(date_to, "--to"),
        period=period,
        limit=page.limit,
        offset=page.offset,
    ) as found:
        if fmt is Format.table:  # the hash short, no prev_hash: CSV and JSON have them whole
            columns: Mapping[str, Any] = {
                k: v for k, v in audit.COLUMNS.items() if k != "prev_hash"
            }
            flat = _short
        else:
            columns, flat = audit.COLUMNS, _flat
        # JSON: before and after as values.
        render.listing(found.rows, columns, fmt, page=page, count=found.count, flat=flat)


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    """An entry for CSV: before and after as JSON text."""
    return {
        **row,
        "before": None if row["before"] is None else json.dumps(row["before"]),
        "after": None if row["after"] is None else json.dumps(row["after"]),
    }


def _short(row: Mapping[str, Any]) -> dict[str, Any]:
    """An entry for a table: as for CSV, without prev_hash and with the hash's start."""
    shown = {k: v for k, v in _flat(row).items() if k != "prev_hash"}
    return {**shown, "hash": row["hash"][:SHORT_HASH]}


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


@audit_app.command("verify")
def audit_verify(
    cli: typer.Context,
    head: Annotated[
        str | None,
        typer.Option("--head", help="a head hash printed before: the log must still hold it"),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Recompute the hash chain; name the first entry altered or removed (exit code 1)."""
    from revrec.services import audit

    result = audit.verify(context(cli), head=head)
    if fmt is Format.json:
        render.emit_json(result.as_json())
    elif fmt is Format.csv:
        render.rows([result.as_json()], audit.VERIFY_COLUMNS, fmt)
    elif result.ok:
        typer.echo(f"audit log intact: {result.entries} entries")
        if result.head_id is not None:
            typer.echo(f"head: entry {result.head_id} {result.head_hash}")
            typer.echo("keep the head elsewhere: `revrec audit verify --head HASH` checks it later")
    if not result.ok:
        typer.echo(f"error: audit log: {result.problem}", err=True)
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
