"""revrec's command line: thin Typer commands that call a service and render its result."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any

import polars as pl
import sqlalchemy.exc
import typer

from revrec.calendar import period_name
from revrec.cli import render, store_commands
from revrec.cli.render import Format
from revrec.errors import RevrecError
from revrec.money import major_units
from revrec.services import bench as bench_service
from revrec.services import demo as demo_service

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="revrec: a revenue recognition subledger (ASC 606 / IFRS 15).",
)


@app.callback()
def _options(
    db: Annotated[
        str | None,
        typer.Option("--db", help="database URL (default $REVREC_DATABASE_URL or ./revrec.db)"),
    ] = None,
    book: Annotated[str | None, typer.Option("--book", help="book name (default: primary)")] = None,
) -> None:
    store_commands.STATE.url = db
    store_commands.STATE.book = book


store_commands.register(app)

FormatOption = Annotated[Format, typer.Option("--format", help="table, csv or json")]


@app.command()
def demo(fmt: FormatOption = Format.table) -> None:
    """Build a small demo portfolio and print its allocation, schedules and balances."""
    result = demo_service.run()
    lines = major_units(
        result.lines.select("contract_id", "line_id", "currency", "method", "amount", "allocated"),
        ["amount", "allocated"],
    )
    schedules = major_units(
        result.schedules.with_columns(
            pl.col("period").map_elements(period_name, return_dtype=pl.String)
        ).select("contract_id", "line_id", "currency", "period", "amount"),
        ["amount"],
    )
    money_columns = [c for c in result.balances.columns if c not in ("contract_id", "currency")]
    balances = major_units(result.balances, money_columns)
    if fmt is Format.json:
        render.emit_json(
            {
                "period": result.period,
                "lines": lines.to_dicts(),
                "schedules": schedules.to_dicts(),
                "balances": balances.to_dicts(),
            }
        )
        return
    render.frame(lines, fmt, "Allocation by relative SSP")
    render.frame(schedules, fmt, "Revenue schedules (cumulative half-even rounding)")
    render.frame(balances, fmt, f"Balances at the end of {result.period} (SPEC §5.1)")


@app.command()
def bench(
    lines: Annotated[int, typer.Option("--lines", min=1, help="number of SO lines")] = 100_000,
    folder: Annotated[
        Path | None, typer.Option("--folder", help="where the generated CSV is kept")
    ] = None,
    store: Annotated[
        str | None,
        typer.Option(
            "--store",
            help="also time import + process of N Recurly-style billing "
            "lines into a new database at this URL (sqlite:///file or postgresql://...)",
        ),
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Time read_csv of N generated lines against the engine (allocation + schedules)."""
    work = folder or Path(tempfile.gettempdir()) / "revrec-bench"
    work.mkdir(parents=True, exist_ok=True)
    quiet = fmt is not Format.table

    def say(text: str) -> None:
        if not quiet:
            typer.echo(text, err=True)

    if store is None:
        result = bench_service.run(lines, work, say)
    else:
        result = bench_service.run_store(lines, work, store, say)
    data = result.as_json()
    if fmt is Format.json:
        render.emit_json(data)
        return
    rows = [("read_csv", round(result.read_csv_s, 3), 1.0)] + [
        (name, round(seconds, 3), round(result.ratios[name], 2))
        for name, seconds in result.stages.items()
    ]
    render.frame(
        pl.DataFrame(rows, schema=["stage", "seconds", "ratio_to_read_csv"], orient="row"),
        fmt,
        f"{result.lines:,} lines, {result.schedule_rows:,} schedule rows, "
        f"{data['lines_per_s']:,} lines/s over the timed stages, "
        f"peak RSS {result.peak_rss_mb:,.0f} MB",
    )


def main() -> None:
    try:
        app()
    except RevrecError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(1)
    except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ArgumentError) as error:
        # The database could not be reached or the URL is not one: say which, no traceback.
        first = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
        typer.echo(f"error: database: {first}", err=True)
        sys.exit(1)


def command_words() -> list[tuple[str, ...]]:
    """Every command of the app as the words that call it, e.g. ("stage", "list")."""
    import typer.main  # noqa: PLC0415 - only for this walk

    found: list[tuple[str, ...]] = []

    def walk(command: Any, words: tuple[str, ...]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, (*words, name))
        else:
            found.append(words)

    walk(typer.main.get_command(app), ())
    return found
