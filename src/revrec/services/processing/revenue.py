"""The revenue_process job (SPEC §5): the contracts touched since the last run are loaded,
allocated, scheduled and posted by one engine run, and the results saved.

Load -> engine.run -> save, in the caller's transaction. No calculation here.
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from revrec.engine import run as engine
from revrec.services.processing.inputs import engine_inputs
from revrec.services.processing.outcome import JobResult
from revrec.store import journals as journal_store
from revrec.store import lines as line_store
from revrec.store import postings as posting_store
from revrec.store import rules


def revenue_process(conn: sa.Connection) -> JobResult:
    """Re-allocate and re-schedule the contracts touched since the last run; post the open
    period of every book (closed periods as posted, the open one catching up)."""
    result = JobResult("revenue_process")
    if not line_store.has_touched(conn):
        return result
    books = rules.books(conn)
    frozen = journal_store.frozen_books(conn, {b["book"]: b["open_period"] for b in books})
    if frozen:
        result.notes.append(
            f"the journal of {', '.join(frozen)} for the open period is approved: changed "
            "contracts wait until approval is revoked or the period is closed"
        )
        return result
    whole = line_store.most_are_touched(conn)
    versions = line_store.touched_versions(conn, whole=whole)
    failed: dict[str, str] = {}
    if versions.height:
        inputs = _inputs(conn, versions, books, whole=whole)
        outputs, failed = _isolated(inputs, sorted(versions["contract_id"].unique().to_list()))
        result.notes.extend(_notes(outputs.findings))
        result.notes.extend(
            f"contract {contract}: could not be processed ({why}); it is retried by the next run"
            for contract, why in failed.items()
        )
        _save(conn, outputs, books, inputs, failed)
        result.posted_lines = outputs.postings.height
        result.processed = versions["line_id"].n_unique()
    line_store.clear_touched(conn)
    line_store.touch_contracts(conn, list(failed))
    return result


def _isolated(inputs: engine.Inputs, contracts: list[str]) -> tuple[engine.Outputs, dict[str, str]]:
    """One engine run over every contract; if it fails on data, the contracts are split in
    halves until each failing contract is alone, so that one contract never stops the others
    (SPEC §4.2). Returns the outputs of the contracts that ran and, per failed contract, why."""
    try:
        return engine.run(inputs), {}
    except Exception as error:  # noqa: BLE001 - any failure of the pure engine is about data
        if len(contracts) == 1:
            empty = engine.run(engine.part(inputs, []))
            return empty, {contracts[0]: f"{type(error).__name__}: {error}"}
    half = len(contracts) // 2
    runs = [_isolated(engine.part(inputs, group), group)
            for group in (contracts[:half], contracts[half:])]  # fmt: skip
    return engine.concat([r[0] for r in runs]), {k: v for r in runs for k, v in r[1].items()}


def _inputs(
    conn: sa.Connection, versions: pl.DataFrame, books: list[dict[str, object]], *, whole: bool
) -> engine.Inputs:
    ids = versions["line_id"].unique()
    open_periods = {str(bk["book"]): str(bk["open_period"]) for bk in books}
    costs = line_store.touched_costs(conn, versions["contract_id"].unique().to_list())
    return engine_inputs(
        conn,
        books,
        versions=versions,
        billings=line_store.touched_billings(conn, ids, whole=whole),
        events=line_store.touched_events(conn, ids, whole=whole),
        stored_allocations=line_store.stored_allocations(conn, ids, whole=whole),
        posted=posting_store.closed_of_touched(conn, open_periods, ids, whole=whole),
        costs=costs,
        posted_costs=journal_store.closed_costs(conn, open_periods, costs["cost_id"].to_list()),
    )


def _save(
    conn: sa.Connection,
    outputs: engine.Outputs,
    books: list[dict[str, object]],
    inputs: engine.Inputs,
    failed: dict[str, str],
) -> None:
    """The run's results; a contract that failed keeps what it had."""
    line_store.save_allocations(conn, _changed(outputs.allocations, inputs.stored_allocations))
    ids = outputs.allocations["line_id"]
    every = inputs.lines["contract_id"].unique()
    contracts = every.filter(~every.is_in(list(failed)))
    cost_ids = inputs.costs.filter(~pl.col("contract_id").is_in(list(failed)))["cost_id"]
    for bk in books:
        book, period = str(bk["book"]), str(bk["open_period"])
        mine = pl.col("book") == book
        posting_store.replace_open(conn, book, period, ids, outputs.postings.filter(mine))
        journal_store.replace_open_lines(
            conn, book, period, contracts, outputs.journal.filter(mine).drop("period")
        )
        if cost_ids.len():
            journal_store.replace_open_costs(
                conn, book, period, cost_ids.to_list(), outputs.cost_postings.filter(mine)
            )


def _changed(allocations: pl.DataFrame, stored: pl.DataFrame) -> pl.DataFrame:
    """The allocations the store does not have as they are (a run over unchanged contracts,
    such as the close's, writes none)."""
    keys = ["line_id", "version", "allocated"]
    return allocations.join(stored.select(keys), on=keys, how="anti", nulls_equal=True)


def _notes(findings: pl.DataFrame) -> list[str]:
    """Findings as the job's notes: `contract C: ...` or `line L: ...`."""
    return [
        f"contract {contract}: {message}" if line is None else f"line {line}: {message}"
        for contract, line, message in findings.select(
            "contract_id", "line_id", "message"
        ).iter_rows()
    ]
