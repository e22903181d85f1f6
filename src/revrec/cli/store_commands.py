"""CLI commands over the store: init, setup, mapping, import, stage, jobs, process, period (§11.1).

Each command opens the database, calls one service in a transaction, and renders the result.
"""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated

import polars as pl
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from revrec.cli import render
from revrec.cli.render import Format
from revrec.errors import InputError
from revrec.imports.files import check_readable, read_yaml
from revrec.money import major_units
from revrec.services import jobs as job_service
from revrec.services import mappings as mapping_service
from revrec.services import process as process_service
from revrec.services import setup as setup_service
from revrec.services import stage as stage_service
from revrec.services import subledger
from revrec.services.imports import file_outcome, import_file
from revrec.store import db
from revrec.store import schema as t
from revrec.words import counted

FormatOption = Annotated[Format, typer.Option("--format", help="table, csv or json")]
# The columns of the listings as shown, so that an empty listing keeps its headings.
STAGE_ROW_COLUMNS = {
    "row_id": pl.Int64,
    "tab": pl.String,
    "file": pl.String,
    "line": pl.Int64,
    "status": pl.String,
    "key": pl.String,
    "period": pl.String,
    "messages": pl.String,
}
FILE_CARD_COLUMNS = {
    "file_id": pl.Int64,
    "file": pl.String,
    "upload_type": pl.String,
    "mapping": pl.String,
    "event": pl.String,
    "uploaded_by": pl.String,
    "uploaded_at": pl.String,
    "rows_read": pl.Int64,
    **dict.fromkeys(stage_service.STATUSES, pl.Int64),
    "duplicate": pl.Int64,
}
JOB_COLUMNS = {
    "name": pl.String,
    "active": pl.Boolean,
    "every": pl.String,
    "cron": pl.String,
    "last_run_at": pl.String,
    "last_result": pl.String,
}


class State:
    url: str | None = None
    book: str | None = None


STATE = State()


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "revrec"


def _now() -> datetime:
    return datetime.now(UTC)


def _engine(*, check: bool = True) -> sa.Engine:
    """The database of --db; checked (unless `check` is False, for init) to be a current revrec
    database holding the book --book names, when it names one."""
    made = db.engine(STATE.url)
    if check:
        db.check_current(made)
        if STATE.book is not None:
            with made.connect() as conn:
                setup_service.check_book(conn, STATE.book)
    return made


def init(
    first_period: Annotated[str | None, typer.Option("--first-period", help="YYYY-MM")] = None,
    currency: Annotated[str, typer.Option("--currency")] = "USD",
    demo: Annotated[bool, typer.Option("--demo", help="also load the demo data")] = False,
    fmt: FormatOption = Format.table,
) -> None:
    """Create (or migrate) the database and the primary book with its first open period."""
    engine = _engine(check=False)
    setup_service.check_init(first_period=first_period, currency=currency)
    db.migrate(engine)
    default_period = None
    if demo:
        from revrec.services.demo_store import DEMO_FIRST_PERIOD  # noqa: PLC0415

        default_period = DEMO_FIRST_PERIOD
    with engine.begin() as conn:
        result = setup_service.init(
            conn,
            today=_now().date(),
            first_period=first_period,
            default_period=default_period,
            currency=currency,
            user=_user(),
        )
    if demo:
        from revrec.services.demo_store import load_demo  # noqa: PLC0415

        load_demo(engine, user=_user(), now=_now())
    data = {"book": result.book, "open_period": result.open_period, "created": result.created}
    if fmt is Format.json:
        render.emit_json(data)
    else:
        verb = "created" if result.created else "already set up"
        typer.echo(
            f"{db.shown(engine.url)}: book {result.book} {verb}, open period {result.open_period}"
        )


setup_app = typer.Typer(no_args_is_help=True, help="Load setup data (books, templates, SSP...).")


@setup_app.command("load")
def setup_load(file: Path, fmt: FormatOption = Format.table) -> None:
    """Apply a YAML setup file (SPEC §2.1); loading the same file twice changes nothing."""
    document = read_yaml(file, "setup file")
    with _engine().begin() as conn:
        counts = setup_service.load(conn, document or {}, user=_user())
    if fmt is Format.json:
        render.emit_json({"file": str(file), "loaded": counts})
    else:
        typer.echo(f"{file}: loaded " + ", ".join(f"{v} {k}" for k, v in counts.items()))


mapping_app = typer.Typer(
    no_args_is_help=True, help="Attribute mappings: list, export and import (SPEC §4.3)."
)


@mapping_app.command("list")
def mapping_list(fmt: FormatOption = Format.table) -> None:
    """List every mapping per upload type: shipped or the user's, and its attributes."""
    with _engine().connect() as conn:
        rows = mapping_service.list_mappings(conn)
    render.frame(
        pl.DataFrame(
            rows,
            schema={
                "name": pl.String,
                "upload_type": pl.String,
                "source": pl.String,
                "strict": pl.Boolean,
                "attributes": pl.Int64,
            },
        ),
        fmt,
    )


@mapping_app.command("export")
def mapping_export(
    name: str,
    upload_type: Annotated[
        str | None, typer.Option("--type", help="only this upload type (default: all it has)")
    ] = None,
    output: Annotated[Path | None, typer.Option("--output", help="default: stdout")] = None,
) -> None:
    """Write a mapping as YAML, in the setup file's shape: `mapping import` reads it back."""
    with _engine().connect() as conn:
        text = mapping_service.export_mapping(conn, name, upload_type)
    if output is None:
        sys.stdout.write(text)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as error:
        raise InputError(f"{output}: cannot write the mapping: {error.strerror}") from None
    typer.echo(f"{output}: exported mapping {name!r}")


@mapping_app.command("import")
def mapping_import(
    file: Path,
    name: Annotated[
        str | None, typer.Option("--name", help="import under this name (default: the file's)")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Create or replace a user mapping from a YAML file; a bad file changes nothing."""
    with _engine().begin() as conn:
        result = mapping_service.import_mapping_file(conn, file, name=name, user=_user())
    if fmt is Format.json:
        render.emit_json(result.as_json())
    elif not result.changed:
        typer.echo(
            f"{result.file}: mapping {result.name!r} is stored as in this file: nothing changed"
        )
    else:
        done = [
            f"{verb} for {', '.join(kinds)} uploads"
            for verb, kinds in (
                ("created", result.created),
                ("replaced", result.replaced),
                ("unchanged", result.unchanged),
            )
            if kinds
        ]
        typer.echo(f"{result.file}: mapping {result.name!r} " + "; ".join(done))


import_app = typer.Typer(no_args_is_help=True, help="Import transactions or events.")


@contextmanager
def _steps(title: str, fmt: Format) -> Iterator[Callable[[str], None]]:
    """A progress bar over an import's steps, on a terminal only (never in CSV/JSON output)."""
    if fmt is not Format.table or not sys.stderr.isatty():
        yield lambda _name: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task(title, total=2)

        def advance(name: str) -> None:
            progress.update(task, advance=1, description=f"{title}: {name}")

        yield advance
        progress.update(task, completed=2)


def _import(
    path: Path,
    upload_type: str,
    mapping: str,
    fmt: Format,
    event: str | None = None,
    name: str | None = None,
) -> None:
    check_readable(path)  # before the database: the file is named first
    engine = _engine()
    with _steps(f"importing {path.name}", fmt) as step:
        with engine.begin() as conn:
            summary = import_file(
                conn,
                path,
                upload_type,
                mapping_name=mapping,
                user=_user(),
                now=_now(),
                event_name=event,
                name=name,
            )
        step("processing")
        runs = [] if summary.unchanged else process_service.run(engine, user=_user(), now=_now())
    if not summary.unchanged:
        with engine.connect() as conn:
            file_outcome(conn, summary)
            summary.notes.extend(stage_service.pending_notes(conn))
        # What the jobs could not do (a contract that cannot be allocated, say) is said here
        # too: its rows are processed into the subledger, the problem is the contract's.
        summary.notes.extend(f"{run.job}: {note}" for run in runs for note in run.notes)
    # JSON and CSV: stdout is the summary of SPEC §11.1 alone (scripts parse it); the notes
    # and the rows in error go to stderr (`revrec stage list --status error` has them too).
    if fmt is Format.json:
        render.emit_json(summary.counts())
    elif fmt is Format.csv:
        render.frame(pl.DataFrame([summary.counts()]), fmt)
    else:
        typer.echo(
            f"{summary.file}: {counted(summary.rows_read, 'row')} read, "
            f"{summary.processed} processed, {summary.future} future, "
            f"{summary.pending} pending, {summary.error} error, {summary.duplicate} duplicate"
        )
    for note in summary.notes:
        typer.echo(f"note: {note}", err=fmt is not Format.table)
    for row in summary.errors[:50]:
        for message in row["messages"]:  # type: ignore[attr-defined]
            typer.echo(
                f"{summary.file}:{row['line']}: {message['column']} "
                f"{message['value']!r}: {message['message']}",
                err=True,
            )
    if len(summary.errors) > 50:
        typer.echo(
            f"... and {len(summary.errors) - 50} more rows in error: "
            "see `revrec stage list --status error`",
            err=True,
        )


@import_app.command("transactions")
def import_transactions(
    file: Path,
    upload_type: Annotated[str, typer.Option("--type", help="sales_order, billing or cost")],
    mapping: Annotated[str, typer.Option("--mapping", help="attribute mapping")] = "revrec",
    fmt: FormatOption = Format.table,
) -> None:
    """Import a sales-order, billing or cost file (CSV or XLSX) into the stage area."""
    if upload_type not in ("sales_order", "billing", "cost"):
        raise InputError(f"--type {upload_type!r}: expected sales_order, billing or cost")
    _import(file, upload_type, mapping, fmt)


@import_app.command("events")
def import_events(
    file: Path,
    event: Annotated[str, typer.Option("--event", help="the event defined on POB templates")],
    name: Annotated[str | None, typer.Option("--name", help="default: the file name")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Import an event file for one event into the stage area."""
    _import(file, "event", "revrec", fmt, event=event, name=name)


stage_app = typer.Typer(no_args_is_help=True, help="The stage area: rows waiting or in error.")


@stage_app.command("list")
def stage_list(
    tab: Annotated[
        str | None, typer.Option("--tab", help="contracts, documents, cost, events")
    ] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="pending, future, error, processed, deleted")
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
    fmt: FormatOption = Format.table,
) -> None:
    """List stage rows with their status and messages."""
    with _engine().connect() as conn:
        listing = stage_service.list_rows(
            conn,
            tab=tab,
            status=status,
            file=file,
            text=text,
            date_from=_day(date_from, "--from"),
            date_to=_day(date_to, "--to"),
        )
    if fmt is Format.json:
        render.emit_json({"rows": listing.rows, "notes": listing.notes})
        return
    shown = [
        {
            **{k: v for k, v in row.items() if k != "messages"},
            "messages": "; ".join(
                f"{m['column']} {m['value']!r}: {m['message']}" for m in row["messages"]
            ),
        }
        for row in listing.rows
    ]
    render.frame(pl.DataFrame(shown, schema=STAGE_ROW_COLUMNS), fmt)
    if fmt is Format.table:
        for note in listing.notes:
            typer.echo(f"note: {note}")


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InputError(f"{option} {text!r}: expected a date YYYY-MM-DD") from None


@stage_app.command("files")
def stage_files(
    tab: Annotated[
        str | None, typer.Option("--tab", help="contracts, documents, cost, events")
    ] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """The uploaded files as cards: type, mapping, who and when, rows per status."""
    with _engine().connect() as conn:
        cards = stage_service.file_cards(conn, tab=tab)
    if fmt is Format.json:
        render.emit_json({"rows": cards})
        return
    render.frame(pl.DataFrame(cards, schema=FILE_CARD_COLUMNS), fmt)


@stage_app.command("delete")
def stage_delete(
    row_ids: list[int],
    yes: Annotated[bool, typer.Option("--yes", help="do not ask for confirmation")] = False,
) -> None:
    """Delete stage rows (kept as deleted, audit-logged); asks for confirmation."""
    engine = _engine()
    with engine.connect() as conn:
        count = stage_service.check_deletable(conn, row_ids)
    if not yes:
        if not _can_ask():
            raise InputError("deleting needs confirmation: add --yes")
        typer.confirm(f"Delete {counted(count, 'stage row')}?", abort=True)
    with engine.begin() as conn:
        count = stage_service.delete_rows(conn, row_ids, user=_user(), now=_now())
    typer.echo(f"deleted {counted(count, 'stage row')}")


def _can_ask() -> bool:
    """Whether a person can answer a question (stdin is a terminal)."""
    return sys.stdin.isatty()


jobs_app = typer.Typer(no_args_is_help=True, help="Scheduled jobs.")


@jobs_app.command("list")
def jobs_list(fmt: FormatOption = Format.table) -> None:
    """List the jobs, whether active, and their last run."""
    with _engine().connect() as conn:
        jobs = job_service.list_jobs(conn)
    rows = [
        {**job, "last_run_at": None if job["last_run_at"] is None else str(job["last_run_at"])}
        for job in jobs
    ]
    if fmt is Format.json:
        render.emit_json({"rows": rows})  # last_result as an object
        return
    shown = [
        {
            **row,
            "last_result": None if row["last_result"] is None else json.dumps(row["last_result"]),
        }
        for row in rows
    ]
    render.frame(pl.DataFrame(shown, schema=JOB_COLUMNS), fmt)


@jobs_app.command("run")
def jobs_run(name: str, fmt: FormatOption = Format.table) -> None:
    """Run one job now, active or not."""
    if name not in process_service.JOB_ORDER:
        raise InputError(
            f"unknown job {name!r}: expected one of {', '.join(process_service.JOB_ORDER)}"
        )
    _render_runs(process_service.run(_engine(), user=_user(), now=_now(), only=name), fmt)


@jobs_app.command("enable")
def jobs_enable(name: str) -> None:
    """Make a job active."""
    with _engine().begin() as conn:
        job_service.set_active(conn, name, active=True, user=_user())
    typer.echo(f"job {name} is active")


@jobs_app.command("disable")
def jobs_disable(name: str) -> None:
    """Make a job inactive: its rows wait in the stage area."""
    with _engine().begin() as conn:
        job_service.set_active(conn, name, active=False, user=_user())
    typer.echo(f"job {name} is inactive")


def process(fmt: FormatOption = Format.table) -> None:
    """Run the active jobs once, now."""
    _render_runs(process_service.run(_engine(), user=_user(), now=_now()), fmt)


def _render_runs(results: list[process_service.JobResult], fmt: Format) -> None:
    rows = [r.as_json() for r in results]
    if fmt is Format.json:
        render.emit_json({"rows": rows})
        return
    render.frame(
        pl.DataFrame(
            [{k: v for k, v in r.items() if k != "notes"} for r in rows],
            schema={
                "job": pl.String,
                "processed": pl.Int64,
                "error": pl.Int64,
                "duplicate": pl.Int64,
                "posted_lines": pl.Int64,
            },
        ),
        fmt,
    )
    for r in results:
        for note in r.notes:
            typer.echo(f"{r.job}: {note}", err=True)


period_app = typer.Typer(no_args_is_help=True, help="Accounting periods.")


@period_app.command("status")
def period_status(fmt: FormatOption = Format.table) -> None:
    """Every period of every book with its status (future, open, closed)."""
    with _engine().connect() as conn:
        rows = [
            {"book": r.book, "period": r.period, "status": r.status}
            for r in conn.execute(
                sa.select(t.periods.c.book, t.periods.c.period, t.periods.c.status).order_by(
                    t.periods.c.book, t.periods.c.period
                )
            )
        ]
    render.frame(
        pl.DataFrame(rows, schema={"book": pl.String, "period": pl.String, "status": pl.String}),
        fmt,
    )


lines_app = typer.Typer(
    no_args_is_help=True, help="The subledger's lines: allocation, billing, revenue."
)


@lines_app.command("list")
def lines_list(
    contract: Annotated[str | None, typer.Option("--contract", help="one contract")] = None,
    fmt: FormatOption = Format.table,
) -> None:
    """Each line's newest version, allocation, billed amount and revenue posted to date (the
    open period's posting included, and shown apart), in the book given by --book (default: the
    primary book). A blank allocation: the contract could not be allocated (see the jobs' notes)."""
    with _engine().connect() as conn:
        found = subledger.lines(conn, book=STATE.book, contract=contract)
    money = ["allocated", "billed", "recognized", "open_period"]
    render.frame(major_units(found, money), fmt)


@lines_app.command("show")
def lines_show(line_id: str, fmt: FormatOption = Format.table) -> None:
    """A line's posted revenue per period, with the running total."""
    with _engine().connect() as conn:
        found = subledger.lines(conn, book=STATE.book).filter(pl.col("line_id") == line_id)
        posted = subledger.postings(conn, line_id, book=STATE.book)
    currency = found["currency"][0]
    posted = major_units(
        posted.with_columns(pl.lit(currency).alias("currency")), ["amount", "to_date"]
    )
    if fmt is Format.json:
        line = major_units(found, ["allocated", "billed", "recognized", "open_period"])
        render.emit_json({**line.to_dicts()[0], "rows": posted.drop("currency").to_dicts()})
        return
    render.frame(posted.select("period", "currency", "amount", "to_date"), fmt)


def register(app: typer.Typer) -> None:
    app.command()(init)
    app.add_typer(setup_app, name="setup")
    app.add_typer(mapping_app, name="mapping")
    app.add_typer(import_app, name="import")
    app.add_typer(stage_app, name="stage")
    app.add_typer(jobs_app, name="jobs")
    app.command()(process)
    app.add_typer(period_app, name="period")
    app.add_typer(lines_app, name="lines")
