"""The event_import job: event rows from the stage area onto their lines (SPEC §5.2)."""

from __future__ import annotations

import functools

import polars as pl
import sqlalchemy as sa

from revrec.engine.verdicts import verdicts
from revrec.imports import events as event_import
from revrec.services.processing.outcome import JobResult, Outcome
from revrec.services.processing.staged import (
    accounting_period,
    held_by_journal,
    settle_repeats,
    split_repeats,
    validated,
    write_outcome,
)
from revrec.services.processing.verdicts import report, why
from revrec.services.setup import open_period
from revrec.store import batches, rules
from revrec.store import events as event_store
from revrec.store import lines as line_store

CONFLICT = "this event was processed before with different content"
MIXED = pl.format(
    "line {} is released by {} already: a release by {} cannot be added",
    pl.col("line_id"),
    pl.when(pl.col("kind") == "quantity").then(pl.lit("percents")).otherwise(pl.lit("quantity")),
    pl.when(pl.col("kind") == "quantity").then(pl.lit("quantity")).otherwise(pl.lit("percent")),
)


def event_import_job(conn: sa.Connection) -> JobResult:
    rows = batches.pending(conn, ("events",))
    if rows.height == 0:
        return JobResult("event_import")
    held = held_by_journal(conn, rows, "event_import")
    if held is not None:
        return held
    rows, repeats = split_repeats(rows)
    outcome = Outcome()
    open_name = open_period(conn)
    for event_name in rows["event_name"].fill_null("").unique(maintain_order=True).to_list():
        good, errors = validated(
            conn,
            rows.filter(pl.col("event_name").fill_null("") == event_name),
            functools.partial(event_import.to_events, event_name=event_name),
            keyed=True,
            from_line=("seq",),
        )
        outcome.fail_all(errors)
        if good.height:
            _apply(conn, accounting_period(good, "event_date", open_name), event_name, outcome)
    settle_repeats(outcome, repeats)
    write_outcome(conn, outcome)
    return outcome.result("event_import")


def _judged(
    conn: sa.Connection, good: pl.DataFrame, event_name: str
) -> tuple[pl.DataFrame, list[pl.Expr]]:
    """The event rows with their verdicts, and why the failed ones failed: an unknown line, or
    a release on a line whose template does not take this event."""
    templates = event_store.line_templates(conn, good["line_id"].unique().to_list())
    takes = {
        name: method == "event" and event_name in events
        for name, method, events in rules.templates(conn)
        .select("pob_template", "method", "events")
        .iter_rows()
    }
    frame = good.join(templates, on="line_id", how="left", maintain_order="left").with_columns(
        pl.coalesce(
            pl.col("content_hash") if "content_hash" in good.columns else pl.lit(None),
            pl.col("event_id"),
        )
        .cast(pl.String)
        .alias("_content"),
        pl.col("pob_template")
        .replace_strict(takes, default=False, return_dtype=pl.Boolean)
        .alias("_takes"),
    )
    frame = _with_measure(conn, frame)
    unknown = pl.col("pob_template").is_null()
    refused = ~unknown & (pl.col("action") == "release") & ~pl.col("_takes")
    mixed = ~unknown & ~refused & pl.col("_mixed")
    stored = event_store.stored_hashes(conn, good["event_id"].to_list())
    refusal = pl.format(
        "line {}'s POB template {} does not accept event {}",
        pl.col("line_id"),
        pl.col("pob_template"),
        pl.lit(event_name),
    )
    failures = [
        why("so_line_id", pl.col("line_id"), pl.lit("event for an unknown line"), unknown),
        why("so_line_id", pl.col("line_id"), refusal, refused),
        why("so_line_id", pl.col("line_id"), MIXED, mixed),
    ]
    return verdicts(frame, "event_id", stored, ~unknown & ~refused & ~pl.col("_mixed")), failures


def _with_measure(conn: sa.Connection, frame: pl.DataFrame) -> pl.DataFrame:
    """`_mixed`: a release measured otherwise than its line already is (by quantity, or by
    percents): the line's stored releases decide, else its first release in the batch."""
    if "kind" not in frame.columns:
        return frame.with_columns(pl.lit(value=False).alias("_mixed"))
    measure = (
        pl.when(pl.col("kind") == "quantity").then(pl.lit("quantity")).otherwise(pl.lit("percent"))
    )
    release = (pl.col("action") == "release") & pl.col("kind").is_not_null()
    stored = (
        event_store.release_kinds(conn, frame["line_id"].unique().to_list())
        .with_columns(measure.alias("_stored_measure"))
        .group_by("line_id")
        .agg(pl.col("_stored_measure").first())
    )
    first = measure.filter(release).first().over("line_id")
    return (
        frame.join(stored, on="line_id", how="left", maintain_order="left")
        .with_columns(pl.coalesce("_stored_measure", first).alias("_measure"))
        .with_columns((release & (measure != pl.col("_measure"))).fill_null(value=False)
                      .alias("_mixed"))
        .drop("_stored_measure", "_measure")
    )  # fmt: skip


def _apply(conn: sa.Connection, good: pl.DataFrame, event_name: str, outcome: Outcome) -> None:
    judged, failures = _judged(conn, good, event_name)
    accepted = report(outcome, judged, "event_id", CONFLICT, failures)
    if accepted.height == 0:
        return
    has = accepted.columns
    frame = accepted.select(
        "event_id",
        pl.lit(event_name).alias("event_name"),
        "line_id",
        "event_date",
        pl.col("line").alias("seq"),
        "action",
        pl.col("kind") if "kind" in has else pl.lit(None, dtype=pl.String),
        pl.col("value_micro") if "value_micro" in has else pl.lit(None, pl.Int64),
        pl.col("_content").alias("content_hash"),
        "period",
        pl.col("line").alias("stage_row_id"),
    )
    event_store.add(conn, frame)
    pairs = frame.select("line_id").unique()
    contract_of = line_store.contracts_of(conn, pairs["line_id"].to_list())
    line_store.mark_touched(
        conn,
        pairs.with_columns(
            pl.col("line_id")
            .replace_strict(contract_of, default=pl.col("line_id"), return_dtype=pl.String)
            .alias("contract_id")
        ),
    )
