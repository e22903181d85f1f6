"""`revrec jobs list|run|enable|disable` and `revrec process`: the scheduled jobs (SPEC §2, §5)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import typer

from revrec.cli import render
from revrec.cli.options import FormatOption, context
from revrec.cli.render import Format, LimitOption, OffsetOption, Page

if TYPE_CHECKING:
    from revrec.services.workflow import JobResult

jobs_app = typer.Typer(no_args_is_help=True, help="Scheduled jobs.")


@jobs_app.command("list")
def jobs_list(
    cli: typer.Context,
    limit: LimitOption = None,
    offset: OffsetOption = 0,
    fmt: FormatOption = Format.table,
) -> None:
    """List the jobs, whether active, and their last run."""
    from revrec.services import columns, jobs

    rows = jobs.list_jobs(context(cli))
    page = Page.of(fmt, limit, offset)
    render.listing(
        page.of_list(rows),  # JSON: last_result as an object
        columns.JOB_COLUMNS,
        fmt,
        page=page,
        count=lambda: len(rows),
        flat=_flat,
    )


def _flat(row: Mapping[str, Any]) -> dict[str, Any]:
    """A job for a table or CSV: its last result as JSON text."""
    last = row["last_result"]
    return {**row, "last_result": None if last is None else json.dumps(last)}


@jobs_app.command("run")
def jobs_run(cli: typer.Context, name: str, fmt: FormatOption = Format.table) -> None:
    """Run one job now, active or not."""
    from revrec.services import workflow

    workflow.check_job(name)  # before the database: a misspelt job is named first
    _runs(workflow.run_job(context(cli), name), fmt)


@jobs_app.command("enable")
def jobs_enable(cli: typer.Context, name: str) -> None:
    """Make a job active."""
    from revrec.services import jobs

    jobs.set_active(context(cli), name, active=True)
    typer.echo(f"job {name} is active")


@jobs_app.command("disable")
def jobs_disable(cli: typer.Context, name: str) -> None:
    """Make a job inactive: its rows wait in the stage area."""
    from revrec.services import jobs

    jobs.set_active(context(cli), name, active=False)
    typer.echo(f"job {name} is inactive")


def process(cli: typer.Context, fmt: FormatOption = Format.table) -> None:
    """Run the active jobs once, now."""
    from revrec.services import workflow

    _runs(workflow.run_active_jobs(context(cli)), fmt)


def _runs(results: list[JobResult], fmt: Format) -> None:
    from revrec.services import columns

    rows = [r.as_json() for r in results]
    if fmt is Format.json:
        render.emit_json({"rows": rows})
        return
    render.rows(
        [{k: v for k, v in r.items() if k != "notes"} for r in rows], columns.JOB_RUN_COLUMNS, fmt
    )
    for r in results:
        for note in r.notes:
            typer.echo(f"{r.job}: {note}", err=True)


def register(app: typer.Typer) -> None:
    app.add_typer(jobs_app, name="jobs")
    app.command()(process)
