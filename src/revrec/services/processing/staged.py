"""Staged rows as a job reads them: what a row means (its content hash), its accounting period,
and the outcome of a batch written back to the stage area."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence

import polars as pl
import sqlalchemy as sa

from revrec.imports.checks import ERROR_SCHEMA, stable_hash
from revrec.services.processing.outcome import DUPLICATE, JobResult, Outcome, message
from revrec.store import batches, rules
from revrec.store import journals as journal_store
from revrec.vocab import KEY_OF_TYPE, TAB_OF_TYPE

IN_FILE_DUPLICATE = "duplicate of an identical row in this file: skipped"
REPEATED_ERROR = "repeats line {}, which has an error"
KEY_OF_TAB = {tab: KEY_OF_TYPE[kind] for kind, tab in TAB_OF_TYPE.items()}
REPEATS = {
    "row_id": pl.Int64, "tab": pl.String, "key": pl.String, "original": pl.Int64,
    "original_line": pl.Int64,
}  # fmt: skip

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


Validate = Callable[[pl.DataFrame], tuple[pl.DataFrame, pl.DataFrame]]
Stale = Callable[[pl.DataFrame], pl.Series]


def validated(
    conn: sa.Connection,
    rows: pl.DataFrame,
    validate: Validate,
    *,
    stale: Stale | None = None,
    keyed: bool = False,
    from_line: Sequence[str] = (),
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good rows, row errors) of a part of a batch (`batches.pending` rows), as `validate` on
    their text would give them, `line` the stage row id, in its order.

    The import validated the rows and kept its good rows typed: they are taken as they are
    (the `from_line` columns, which the validator derives from `line`, become the stage row
    id too). The others are validated again from their text, as the import did: rows staged
    before the import kept typed values, rows that `stale` finds (their typed values depend on
    what the store has changed since the import: a POB template), and, when `keyed`, the rows
    of a key given more than once in the part, whose content the validator compares as text.
    """
    typed, untyped = batches.typed_values(conn, rows)
    again = untyped["row_id"]
    if keyed:
        again = pl.concat([again, rows.filter(pl.col("key").is_duplicated())["row_id"]])
    redo = typed["line"].is_in(again.implode())
    if stale is not None and typed.height:
        redo = redo | stale(typed)
    kept = typed.filter(~redo).with_columns(
        *(pl.col("line").alias(name) for name in from_line),
        # Not a repeat of a row of its part: the key is once in it, or a version (a sales order).
        *([pl.lit(value=False).alias("duplicate")] if "duplicate" in typed.columns else []),
    )
    again = pl.concat([again, typed.filter(redo)["line"]])
    if again.is_empty():
        return kept.sort("line"), pl.DataFrame(schema=ERROR_SCHEMA)
    text_rows = rows.filter(pl.col("row_id").is_in(again.implode()))
    good, errors = validate(batches.values(conn, text_rows))
    if kept.height == 0:
        return good, errors
    return pl.concat([kept, good], how="diagonal_relaxed").sort("line"), errors


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


def split_repeats(rows: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(rows to judge, repeats) of a batch of `batches.pending` rows.

    A repeat is a row whose file has a row of the same tab and key on an earlier line of the
    batch. The import staged it as an identical repeat of that row (a later row of a key with
    other content is an error row), so it is not judged again: it takes that row's outcome
    (`settle_repeats`), whatever the row's outcome is. repeats: row_id, tab, key, original (the
    earlier row's row_id), original_line.
    """
    group = ["file_id", "tab", "key"]
    if rows["key"].n_unique() == rows.height:  # most batches: no key twice, so no repeat
        return rows, pl.DataFrame(schema=REPEATS)
    first = pl.when(pl.col("key") != "").then(pl.col("line").min().over(group))
    marked = rows.with_columns(first.alias("_first"))
    repeat = (pl.col("line") != pl.col("_first")).fill_null(value=False)
    repeats = marked.filter(repeat)
    originals = marked.filter(pl.col("line") == pl.col("_first")).select(
        *group, pl.col("row_id").alias("original"), pl.col("line").alias("original_line")
    )
    found = repeats.join(originals, on=group, how="inner").select(
        "row_id", "tab", "key", "original", "original_line"
    )
    return marked.filter(~repeat).drop("_first"), found


def settle_repeats(outcome: Outcome, repeats: pl.DataFrame) -> None:
    """Each repeat (`split_repeats`) takes the outcome of the row it repeats: processed (accepted,
    or a duplicate itself) makes it a duplicate of an identical row in this file; error makes
    it an error row naming that row's line; a row without an outcome leaves it pending.

    The repeat says only what is true of it: never processed for a row that was not processed.
    """
    if repeats.height == 0:
        return
    judged = repeats.with_columns(_status_of(outcome, repeats["original"]).alias("_status"))
    outcome.repeat_all(judged.filter(pl.col("_status") == "processed")["row_id"])
    failed = judged.filter(pl.col("_status") == "error")
    outcome.fail_all(
        failed.select(
            pl.col("row_id").alias("line"),
            pl.col("tab").replace_strict(KEY_OF_TAB, default="").alias("column"),
            pl.col("key").alias("value"),
            pl.format(REPEATED_ERROR, "original_line").alias("message"),
        )
    )


def _status_of(outcome: Outcome, row_ids: pl.Series) -> pl.Series:
    """The status that `write_outcome` will give each of these rows: error (it wins, as it is
    written last), processed, or null (no outcome: the row stays pending)."""

    def among(series: list[pl.Series]) -> pl.Series:
        return pl.concat([pl.Series([], dtype=pl.Int64), *(s.cast(pl.Int64) for s in series)])

    failed = among([f["line"] for f in outcome.failed])
    processed = among([*outcome.done, *outcome.skipped, *outcome.repeated])
    one_by_one = [outcome.rows.get(rid, (None, []))[0] for rid in row_ids.to_list()]
    frame = pl.DataFrame(
        {"id": row_ids.cast(pl.Int64), "single": pl.Series(one_by_one, dtype=pl.String)}
    )
    return frame.select(
        pl.when(pl.col("id").is_in(failed.implode()))
        .then(pl.lit("error"))
        .when(pl.col("single").is_not_null())
        .then(pl.col("single"))
        .when(pl.col("id").is_in(processed.implode()))
        .then(pl.lit("processed"))
    ).to_series()


def write_outcome(conn: sa.Connection, outcome: Outcome) -> None:
    """Processed rows and duplicates in one UPDATE per run of ids; only error rows, each with
    its own messages, one by one."""
    plain = [rid for rid, (st, msgs) in outcome.rows.items() if st == "processed" and not msgs]
    skipped = [rid for rid, (st, msgs) in outcome.rows.items() if st == "processed" and msgs]

    def ids(singles: list[int], bulk: list[pl.Series]) -> pl.Series:
        return pl.concat([pl.Series(singles, dtype=pl.Int64), *(b.cast(pl.Int64) for b in bulk)])

    batches.mark(conn, "processed", "[]", ids(plain, outcome.done))
    batches.mark_duplicates(conn, DUPLICATE, ids(skipped, outcome.skipped))
    batches.mark_duplicates(conn, IN_FILE_DUPLICATE, ids([], outcome.repeated))
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
