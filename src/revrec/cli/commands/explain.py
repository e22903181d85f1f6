"""`revrec explain LINE_ID`: how a line's figures came about (SPEC §8, issue 11)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

import typer

from revrec.cli import render
from revrec.cli.commands.journals import PeriodOption
from revrec.cli.options import context


class ExplainFormat(StrEnum):
    table = "table"
    json = "json"


BookOption = Annotated[
    str | None, typer.Option("--book", help="book name (default: the global --book, else primary)")
]
FormatOption = Annotated[ExplainFormat, typer.Option("--format", help="table or json")]
# The heading of each section's table.
TITLES = {
    "line": "the line's newest version, recognized in the book as",
    "allocation": "the contract's transaction price split by relative SSP (SPEC §3)",
    "versions": "the line's versions; catch_up: what the period processed posted beyond its "
    "schedule",
    "changes": "the periods in which the contract's lines changed, and this line at their end",
    "segments": "what the schedule adds up (a prospective change adds a segment)",
    "curve": "cumulative = round_half_even(total x elapsed / length), amount = the difference "
    "(SPEC §1)",
    "events": "releases, holds and the other actions",
    "periods": "the schedule beside what the book posted (difference = posted - scheduled)",
    "billings": "the contract's billings",
    "balances": "the contract's balances at the period's end (SPEC §5.1)",
}


def explain(
    cli: typer.Context,
    line_id: str,
    period: PeriodOption = None,
    book: BookOption = None,
    fmt: FormatOption = ExplainFormat.table,
) -> None:
    """How a line's figures came about: its contract's allocation, its schedule with each
    cumulative fraction, its versions and catch-ups, events, billings, postings and its
    contract's balances, at the end of a period (default the open one)."""
    from dataclasses import replace

    from revrec.services import explain as service

    ctx = context(cli)
    if book is not None:
        ctx = replace(ctx, book=book)
    found = service.explain(ctx, line_id, period=period)
    if fmt is ExplainFormat.json:
        render.emit_json(found)
        return
    _tables(found, service.BALANCE_RULES)


def _tables(found: Mapping[str, Any], rules: Mapping[str, str]) -> None:
    """Each section of the document as a table under its heading, then the notes."""
    typer.echo(
        f"{found['line_id']} of contract {found['contract_id']} ({found['currency']}) in book "
        f"{found['book']} at the end of {found['period']}"
    )
    for name, title in TITLES.items():
        section = found[name]
        typer.echo(f"\n{name}: {title}")
        if name == "balances":
            _show([{"figure": k, "amount": v, "rule": rules[k]} for k, v in section.items()])
        elif isinstance(section, dict):
            _show([{"figure": k, "value": _cell(v)} for k, v in section.items() if k != "rows"])
            if "rows" in section:
                _show(section["rows"])
        else:
            _show(section)
    for note in found["notes"]:
        typer.echo(f"note: {note}")


def _show(rows: list[dict[str, Any]]) -> None:
    if rows:
        render.table(_frame(rows))
    else:
        typer.echo("none")


def _cell(value: Any) -> Any:
    return ", ".join(value) if isinstance(value, list) else value


def _frame(rows: list[dict[str, Any]]) -> Any:
    import polars as pl

    return pl.DataFrame([{k: None if v is None else str(v) for k, v in r.items()} for r in rows])


def register(app: typer.Typer) -> None:
    app.command("explain")(explain)
