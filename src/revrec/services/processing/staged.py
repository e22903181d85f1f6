"""Staged rows as a job reads them: what a row means (its content hash), its accounting period,
and the outcome of a batch written back to the stage area."""

from __future__ import annotations

import json

import polars as pl
import sqlalchemy as sa

from revrec.imports.checks import stable_hash
from revrec.services.processing.outcome import DUPLICATE, JobResult, Outcome, message
from revrec.store import batches, rules
from revrec.store import journals as journal_store

# What a row means, by upload type: its parsed values (amounts in minor units, dates, flags),
# not the text it was written with, so "100.0" and "100.00", a date with or without a time
# of day, or an optional column left out or left empty are the same content (SPEC §4.5).
# Free columns are not part of it: a re-export whose extra columns moved on is the same row.
MEANING = {
    "sales_order": (
        "contract_id", "line_id", "customer_id", "currency", "amount", "quantity_micro",
        "ssp_unit", "exclude", "residual", "pob_template", "start", "end", "order_day",
        "so_number", "item_code", "list_price", "modification_policy",
    ),
    "billing": (
        "doc_type", "doc_number", "doc_line_id", "doc_date", "amount", "currency",
        "customer_id", "so_line_id", "ref_doc_number", "ref_doc_line_id", "start", "end",
        "item_code", "pob_template", "schedule_type", "origin", "invoice_state",
        "invoice_origin", "accounting_code",
    ),
    "cost": (
        "cost_id", "cost_type", "amount", "currency", "cost_date", "so_line_id", "contract_id",
        "amortization", "amortization_months", "expense_immediately",
    ),
}  # fmt: skip


def content_hash(good: pl.DataFrame, upload_type: str) -> pl.DataFrame:
    """`good` (validated rows) with `content_hash`: the stable hash of its MEANING columns (a
    column the file did not have counts as empty), the same in every run and Polars version."""
    parts = [
        pl.col(name) if name in good.columns else pl.lit(None, dtype=pl.String)
        for name in MEANING[upload_type]
    ]
    return stable_hash(good, parts, "content_hash")


def accounting_period(frame: pl.DataFrame, day: str, open_name: str) -> pl.DataFrame:
    """`period` of each row; late rows (a closed period) are processed into the open period."""
    period = pl.col(day).dt.strftime("%Y-%m")
    return frame.with_columns(
        pl.when(period < open_name).then(pl.lit(open_name)).otherwise(period).alias("period")
    )


def given(name: str) -> pl.Expr:
    """A cell that is there: neither null nor empty."""
    return pl.col(name).fill_null("") != ""


def write_outcome(conn: sa.Connection, outcome: Outcome) -> None:
    """Processed rows and duplicates in one UPDATE per run of ids; only error rows, each with
    its own messages, one by one."""
    plain = [rid for rid, (st, msgs) in outcome.rows.items() if st == "processed" and not msgs]
    skipped = [rid for rid, (st, msgs) in outcome.rows.items() if st == "processed" and msgs]

    def ids(singles: list[int], bulk: list[pl.Series]) -> pl.Series:
        return pl.concat([pl.Series(singles, dtype=pl.Int64), *(b.cast(pl.Int64) for b in bulk)])

    batches.mark(conn, "processed", "[]", ids(plain, outcome.done))
    batches.mark_duplicates(conn, DUPLICATE, ids(skipped, outcome.skipped))
    failed: dict[int, list[dict[str, str]]] = {
        rid: msgs for rid, (st, msgs) in outcome.rows.items() if st == "error"
    }
    for frame in outcome.failed:
        for row_id, column, value, text in frame.iter_rows():
            failed.setdefault(row_id, []).append(message(column, value, text))
    batches.mark_errors(conn, failed)


def held_by_journal(conn: sa.Connection, rows: pl.DataFrame, job: str) -> JobResult | None:
    """When a book's journal of the open period is approved (SPEC §6), the batch's rows stay
    pending with a message saying why, and the job's result says so; else None."""
    open_periods = {str(b["book"]): str(b["open_period"]) for b in rules.books(conn)}
    frozen = journal_store.frozen_books(conn, open_periods)
    if not frozen:
        return None
    books = ", ".join(f"{book} {open_periods[book]}" for book in frozen)
    why = (
        f"waiting: the journal of {books} is approved; rows are processed once approval is "
        "revoked (revrec je revoke) or the period is closed"
    )
    batches.mark(conn, "pending", json.dumps([message("", "", why)]), rows["row_id"])
    return JobResult(job, notes=[f"{rows.height} rows wait: the journal of {books} is approved"])
