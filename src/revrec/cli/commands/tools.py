"""`revrec demo` and `revrec bench`: the in-memory demo portfolio and the benchmark."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, Options, new_database
from revrec.cli.render import Format


def demo(fmt: FormatOption = Format.table) -> None:
    """Build a small demo portfolio and print its allocation, schedules and balances."""
    import polars as pl

    from revrec.calendar import period_name
    from revrec.money import major_units
    from revrec.services import demo as demo_service

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


def bench(
    cli: typer.Context,
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
    pages: Annotated[
        bool,
        typer.Option(
            "--pages",
            help="time every page of the web app instead, over the demo portfolio "
            "(or the database of --db)",
        ),
    ] = False,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="with --pages")] = 5,
    contracts: Annotated[
        int, typer.Option("--contracts", min=1, help="with --pages: the demo's size")
    ] = 300,
    fmt: FormatOption = Format.table,
) -> None:
    """Time read_csv of N generated lines against the engine (allocation + schedules)."""
    from revrec.services import bench as bench_service
    from revrec.services import columns

    work = folder or Path(tempfile.gettempdir()) / "revrec-bench"
    work.mkdir(parents=True, exist_ok=True)
    quiet = fmt is not Format.table

    def say(text: str) -> None:
        if not quiet:
            typer.echo(text, err=True)

    if pages:
        _bench_pages(cli, work, repeats=repeats, contracts=contracts, fmt=fmt, say=say)
        return
    if store is None:
        result = bench_service.run(lines, work, say)
    else:
        result = bench_service.run_store(new_database(store), lines, work, say)
    data = result.as_json()
    if fmt is Format.json:
        render.emit_json(data)
        return
    rows = [{"stage": "read_csv", "seconds": round(result.read_csv_s, 3), "ratio_to_read_csv": 1.0}]
    rows += [
        {
            "stage": name,
            "seconds": round(seconds, 3),
            "ratio_to_read_csv": round(result.ratios[name], 2),
        }
        for name, seconds in result.stages.items()
    ]
    render.rows(
        rows,
        columns.BENCH_COLUMNS,
        fmt,
        f"{result.lines:,} lines, {result.schedule_rows:,} schedule rows, "
        f"{data['lines_per_s']:,} lines/s over the timed stages, "
        f"peak RSS {result.peak_rss_mb:,.0f} MB",
    )


def _bench_pages(
    cli: typer.Context,
    work: Path,
    *,
    repeats: int,
    contracts: int,
    fmt: Format,
    say: Callable[[str], None],
) -> None:
    from revrec.services import columns
    from revrec.web import bench as web_bench

    options = cli.find_object(Options) or Options()
    timed = web_bench.run(options.db, work, repeats=repeats, contracts=contracts, say=say)
    found = web_bench.summary(timed)
    if fmt is Format.json:
        render.emit_json(found)
        return
    render.rows(
        found["pages"],
        columns.PAGE_BENCH_COLUMNS,
        fmt,
        f"{len(timed)} pages, {repeats} requests each: "
        f"slowest median {found['slowest_median_ms']} ms"
        + (f"; over 300 ms: {', '.join(found['over_300_ms'])}" if found["over_300_ms"] else ""),
    )


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(bench)
