"""The flows of several steps that a shell (the CLI, the web app) starts with one call: setting
up a database, importing a file and then running the active jobs, running one job.

The only module that calls `services.process`. Nothing rendered here, and no clock: `now` is the
Context's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from revrec.errors import InputError
from revrec.imports.files import check_readable
from revrec.services import database, demo_store, process, setup, stage
from revrec.services.context import Context
from revrec.services.imports import ImportSummary, file_outcome, import_file
from revrec.services.process import JobResult
from revrec.store import lines as line_store
from revrec.vocab import JOBS


@dataclass(frozen=True)
class Initialized:
    """What `init` did: the database as messages show it, its primary book and open period."""

    database: str
    book: str
    open_period: str
    created: bool

    def as_json(self) -> dict[str, object]:
        return {"book": self.book, "open_period": self.open_period, "created": self.created}


def init(
    ctx: Context, *, first_period: str | None, currency: str, demo: bool = False
) -> Initialized:
    """Create (or migrate) the database of an unchecked Context and its primary book with the
    first open period; with `demo`, also load the shipped examples. The options are checked
    before anything is created."""
    setup.check_init(first_period=first_period, currency=currency)
    database.migrate(ctx.engine)
    default_period = None
    if demo:
        default_period = demo_store.DEMO_FIRST_PERIOD
    with ctx.engine.begin() as conn:
        result = setup.init(
            conn,
            first_period=first_period,
            default_period=default_period,
            currency=currency,
            user=ctx.user,
            now=ctx.now,
        )
    if demo:
        demo_store.load_demo(ctx)
    return Initialized(
        database.shown(ctx.engine.url), result.book, result.open_period, result.created
    )


def read_setup(path: Path) -> Any:
    """The YAML document of a setup file (SPEC §2.1), read before the database is opened so
    that a bad file is named first; an empty file is an empty document."""
    return setup.read_setup(path)


def load_setup(ctx: Context, document: Any) -> dict[str, int]:
    """Apply a setup document in one transaction; the counts per section."""
    with ctx.engine.begin() as conn:
        return setup.load(conn, document, user=ctx.user, now=ctx.now)


def check_file(path: Path) -> None:
    """A one-line InputError unless `path` is a file revrec can read: called before the
    database is opened, so that the file is named first."""
    check_readable(path)


def import_and_process(
    ctx: Context,
    path: Path,
    upload_type: str,
    *,
    mapping: str = "revrec",
    event: str | None = None,
    name: str | None = None,
    step: Callable[[str], None] = lambda _name: None,
) -> ImportSummary:
    """Stage a file (one transaction), then run the active jobs; `step` hears when processing
    starts. The summary counts the file's rows as they stand after the jobs, and its notes say
    what waits and what the jobs could not do. A file imported before changes nothing."""
    with ctx.engine.begin() as conn:
        summary = import_file(
            conn,
            path,
            upload_type,
            mapping_name=mapping,
            user=ctx.user,
            now=ctx.now,
            event_name=event,
            name=name,
        )
    step("processing")
    if summary.unchanged and not _waiting(ctx, summary):
        return summary
    again = summary.unchanged  # imported before (by a run that stopped, say), rows waiting
    runs = process.run(ctx)
    with ctx.engine.connect() as conn:
        file_outcome(conn, summary)
        if again:  # the file's rows as they stand now, and why (decision 51)
            summary.notes = [
                "the same file was imported before; its rows were waiting: "
                + (f"{summary.pending} still pending" if summary.pending else "processed now")
            ]
        summary.notes.extend(stage.pending_notes(conn))
    # What the jobs could not do (a contract that cannot be allocated, say) is said too: its
    # rows are processed into the subledger, the problem is the contract's.
    summary.notes.extend(f"{run.job}: {note}" for run in runs for note in run.notes)
    return summary


def _waiting(ctx: Context, summary: ImportSummary) -> bool:
    """Whether a file imported before still has pending rows, or lines that wait for the
    revenue job."""
    with ctx.engine.connect() as conn:
        counts = stage.status_counts(conn, summary.file_id).get(summary.file_id or 0, {})
        return counts.get("pending", 0) > 0 or line_store.has_touched(conn)


def check_job(name: str) -> None:
    """An InputError unless `name` is one of the jobs (SPEC §2)."""
    if name not in JOBS:
        raise InputError(f"unknown job {name!r}: expected one of {', '.join(JOBS)}")


def run_job(ctx: Context, name: str) -> list[JobResult]:
    """Run one job now, active or not, in a transaction of its own."""
    check_job(name)
    return process.run(ctx, only=name)


def run_active_jobs(ctx: Context) -> list[JobResult]:
    """Run the active jobs once, in their order, each in a transaction of its own."""
    return process.run(ctx)


__all__ = [
    "ImportSummary",
    "Initialized",
    "JobResult",
    "check_file",
    "check_job",
    "import_and_process",
    "init",
    "load_setup",
    "read_setup",
    "run_active_jobs",
    "run_job",
]
