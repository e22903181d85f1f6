"""The revenue_process job (SPEC §5): the contracts touched since the last run are loaded,
allocated, scheduled and posted by one engine run, and the results saved.

Load -> engine.run -> save, in the caller's transaction. No calculation here.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.calendar import parse_period
from revrec.engine import run as engine
from revrec.services.imports import templates_frame
from revrec.services.processing.outcome import JobResult
from revrec.store import lines as line_store
from revrec.store import postings as posting_store
from revrec.store import rules
from revrec.vocab import POLICIES


def revenue_process(conn: sa.Connection) -> JobResult:
    """Re-allocate and re-schedule the contracts touched since the last run; post the open
    period of every book (closed periods as posted, the open one catching up)."""
    result = JobResult("revenue_process")
    if not line_store.has_touched(conn):
        return result
    whole = line_store.most_are_touched(conn)
    versions = line_store.touched_versions(conn, whole=whole)
    if versions.height:
        books = rules.books(conn)
        outputs = engine.run(_inputs(conn, versions, books, whole=whole))
        result.notes.extend(_notes(outputs.findings))
        _save(conn, outputs, books)
        result.posted_lines = outputs.postings.height
        result.processed = versions["line_id"].n_unique()
    line_store.clear_touched(conn)
    return result


def _inputs(
    conn: sa.Connection, versions: pl.DataFrame, books: list[dict[str, object]], *, whole: bool
) -> engine.Inputs:
    ids = versions["line_id"].unique()
    billings = line_store.touched_billings(conn, ids, whole=whole)
    events = line_store.touched_events(conn, ids, whole=whole)
    open_periods = {str(bk["book"]): str(bk["open_period"]) for bk in books}
    return engine.Inputs(
        lines=versions.select(
            pl.col(name).cast(dtype) for name, dtype in engine.LINE_SCHEMA.items()
        ),
        billings=billings.cast(engine.BILLING_SCHEMA),  # type: ignore[arg-type]
        events=events.cast(engine.EVENT_SCHEMA),  # type: ignore[arg-type]
        stored_allocations=line_store.stored_allocations(conn, ids.to_list()),
        posted=posting_store.closed_of_touched(conn, open_periods, ids, whole=whole),
        books=pl.DataFrame(
            [(name, parse_period(period)) for name, period in open_periods.items()],
            schema=engine.BOOK_SCHEMA,
            orient="row",
        ),
        overrides=pl.DataFrame(
            [
                (bk["book"], template, method)
                for bk in books
                for template, method in dict(bk["methods"]).items()  # type: ignore[call-overload]
            ],
            schema=engine.OVERRIDE_SCHEMA,
            orient="row",
        ),
        templates=templates_frame(conn),
        policies=rules.contract_policies(conn),
        default_policy=rules.setting(conn, "modification_policy") or POLICIES[0],
    )


def _save(conn: sa.Connection, outputs: engine.Outputs, books: list[dict[str, object]]) -> None:
    line_store.save_allocations(conn, outputs.allocations)
    ids = outputs.allocations["line_id"]
    for bk in books:
        book = str(bk["book"])
        rows = outputs.postings.filter(pl.col("book") == book)
        posting_store.replace_open(conn, book, str(bk["open_period"]), ids, rows)


def _notes(findings: pl.DataFrame) -> list[str]:
    """Findings as the job's notes: `contract C: ...` or `line L: ...`."""
    return [
        f"contract {contract}: {message}" if line is None else f"line {line}: {message}"
        for contract, line, message in findings.select(
            "contract_id", "line_id", "message"
        ).iter_rows()
    ]
