"""Event rows (attribute names of an event mapping, all strings, plus `line`) to typed events.

An event file is linked to one event name; each row acts on one line (SPEC §4.1, §5.2). A row
without an event_id gets one from its content, so re-importing it is recognized. No I/O.
"""

from __future__ import annotations

from collections.abc import Collection

import polars as pl

from revrec.errors import InputError
from revrec.imports.checks import (
    REQUIRED,
    bounded_cells,
    check,
    choice,
    duplicates,
    free_attributes,
    names,
    prepare,
    stable_hash,
    text,
)
from revrec.imports.mappings import KNOWN
from revrec.imports.values import dates, micro_units
from revrec.vocab import EVENT_ACTIONS, EVENT_KINDS

ATTRIBUTES = KNOWN["event"]
HUNDRED = 100_000_000  # 100 in micro units
AUTO_ID = "auto-"
OUTPUT = (
    "line", "event_id", "event_name", "line_id", "so_line_id", "doc_line_id", "event_date",
    "action", "kind", "value_micro", "seq", "content_hash", "duplicate",
)  # fmt: skip


@bounded_cells
def to_events(
    raw: pl.DataFrame, event_name: str, known_events: Collection[str] | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(good events, row errors). raw: string columns named by attribute, `line` optional.

    Good events have the columns of OUTPUT, then the free attributes: line_id is the so_line_id
    or doc_line_id; kind and value_micro (the number x 1e6) are set for a release only; seq
    orders the events of one day (file order); content_hash identifies the row's meaning, and
    an event_id left empty is "auto-" + content_hash. `known_events`, when given, are the event
    names the setup accepts.
    """
    if not event_name.strip():
        raise InputError("an event file needs the name of its event")
    if known_events is not None and event_name not in known_events:
        raise InputError(
            f"unknown event {event_name!r}: expected one of {names(sorted(known_events))}"
        )
    frame = prepare(raw, ATTRIBUTES)
    free = free_attributes(frame, ATTRIBUTES)
    frame = frame.with_columns(
        text("percent").str.strip_suffix("%").alias("_percent_text"),
        text("cumulative_percent").str.strip_suffix("%").alias("_cumulative_text"),
    )
    frame = micro_units(frame, "_percent_text", "_percent")
    frame = micro_units(frame, "_cumulative_text", "_cumulative")
    frame = micro_units(frame, "quantity", "_quantity")
    event_date, event_date_err = dates(pl.col("event_date"))
    given_action = text("action").str.to_lowercase()
    percent, cumulative, quantity = (pl.col(n).is_not_null() for n in EVENT_KINDS)
    release = pl.col("_action") == "release"
    frame = frame.with_columns(
        event_date.alias("_event_date"),
        given_action.fill_null(EVENT_ACTIONS[0]).alias("_action"),
    ).with_columns(
        pl.when(~release)
        .then(None)
        .when(percent)
        .then(pl.lit("percent"))
        .when(cumulative)
        .then(pl.lit("cumulative_percent"))
        .when(quantity)
        .then(pl.lit("quantity"))
        .alias("_kind"),
        pl.when(release).then(pl.coalesce("_percent", "_cumulative", "_quantity")).alias("_value"),
    )
    frame = stable_hash(
        frame,
        [
            pl.lit(event_name),
            pl.col("so_line_id"),
            pl.col("doc_line_id"),
            pl.col("_event_date"),
            pl.col("_action"),
            pl.col("_kind"),
            pl.col("_value"),
        ],
        "_content_hash",
    ).with_columns(
        pl.coalesce("event_id", pl.lit(AUTO_ID) + pl.col("_content_hash")).alias("event_id")
    )
    # Rows compare by meaning ("50" and "50.0" percent are the same release), as the ids do.
    frame = duplicates(frame, "event_id", ["_content_hash", *free])
    only_release = pl.lit("only a release takes a percent, cumulative_percent or quantity")
    one_only = pl.lit("expected only one of percent, cumulative_percent, quantity")
    checks: dict[str, pl.Expr] = {
        "so_line_id": pl.when(
            pl.col("so_line_id").is_null() & pl.col("doc_line_id").is_null()
        ).then(pl.lit(f"{REQUIRED} in so_line_id or doc_line_id")),
        "doc_line_id": pl.when(
            pl.col("so_line_id").is_not_null() & pl.col("doc_line_id").is_not_null()
        ).then(pl.lit("expected so_line_id or doc_line_id, not both")),
        "event_date": pl.when(pl.col("event_date").is_null())
        .then(pl.lit(REQUIRED))
        .otherwise(event_date_err),
        "action": choice(given_action, "action", EVENT_ACTIONS, "action"),
        "percent": pl.when(release & ~percent & ~cumulative & ~quantity)
        .then(pl.lit("a release needs one of percent, cumulative_percent or quantity"))
        .when(percent & ~release)
        .then(only_release)
        .when(pl.col("_percent_error").is_not_null())
        .then(pl.col("_percent_error"))
        .when((pl.col("_percent") < 0) | (pl.col("_percent") > HUNDRED))
        .then(pl.lit("expected a percent between 0 and 100")),
        "cumulative_percent": pl.when(cumulative & ~release)
        .then(only_release)
        .when(cumulative & percent)
        .then(one_only)
        .when(pl.col("_cumulative_error").is_not_null())
        .then(pl.col("_cumulative_error"))
        .when((pl.col("_cumulative") < 0) | (pl.col("_cumulative") > HUNDRED))
        .then(pl.lit("expected a cumulative percent between 0 and 100")),
        "quantity": pl.when(quantity & ~release)
        .then(only_release)
        .when(quantity & (percent | cumulative))
        .then(one_only)
        .when(pl.col("_quantity_error").is_not_null())
        .then(pl.col("_quantity_error"))
        .when(pl.col("_quantity") < 0)
        .then(pl.lit("expected a quantity of 0 or more")),
    }
    good, errors = check(frame, checks)
    good = good.select(
        "line",
        "event_id",
        pl.lit(event_name).alias("event_name"),
        pl.coalesce("so_line_id", "doc_line_id").alias("line_id"),
        "so_line_id",
        "doc_line_id",
        pl.col("_event_date").alias("event_date"),
        pl.col("_action").alias("action"),
        pl.col("_kind").alias("kind"),
        pl.col("_value").alias("value_micro"),
        pl.col("line").alias("seq"),
        pl.col("_content_hash").alias("content_hash"),
        "duplicate",
        *(c for c in free if c not in OUTPUT),
    )
    return good, errors
